"""The numba kernels of the LIS reader, on bytes worked out by hand."""

from __future__ import annotations

import numpy as np

from labforensics.ingest import _lis_kernels as k


def _u8(b: bytes) -> np.ndarray:
    return np.frombuffer(b, dtype=np.uint8)


def test_line_scan_positions_and_quote_parity():
    data = _u8(b'a;"b\n"c"\n\nx"y"z"\n')
    nl, odd = k.line_scan(data, ord('"'))
    # line feeds at bytes 4, 8, 9, 16; quotes per line: 1, 2, 0, 3 -> odd, even, even, odd
    assert nl.tolist() == [4, 8, 9, 16]
    assert odd.tolist() == [True, False, False, True]


def test_scan_records_width_quoting_and_hash():
    data = _u8(b'a;"b;c";d\r\n"x\ny";z\n"open;1\r\n')
    rs = np.array([0, 11, 19], dtype=np.int64)
    ce = np.array([10, 18, 27], dtype=np.int64)  # record 0 keeps its CR: a line end
    counts, open_, bad_break, quoted_break, hashes = k.scan_records(
        data, rs, ce, ord(";"), ord('"')
    )
    # 'a;"b;c";d' is 3 fields (the ; inside quotes is text); '"x\ny";z' 2 fields with a
    # quoted line break; '"open;1\r' ends inside quotes, its CR inside the open quote
    assert counts.tolist() == [3, 2, 1]
    assert open_.tolist() == [False, False, True]
    assert bad_break.tolist() == [False, False, False]
    assert quoted_break.tolist() == [False, True, True]

    def fnv(b: bytes) -> int:  # FNV-1a 64-bit, reference implementation
        h = 14695981039346656037
        for c in b:
            h = ((h ^ c) * 1099511628211) % 2**64
        return h - 2**64 if h >= 2**63 else h

    raw = data.tobytes()
    assert hashes.tolist() == [fnv(raw[a:b]) for a, b in zip(rs, ce, strict=True)]
