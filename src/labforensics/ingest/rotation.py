"""Rotation duplicates: records a log rotation left both at the end of one file and the
head of the next.

Rule (``shared/formats/lis-audit-csv.md``): for consecutive files of the same lab whose
reader declares ``rotation=True``, the largest ``k`` such that the last ``k`` records of
the previous file equal the first ``k`` records of the later file (compared on their raw
text) are rotation duplicates of the later file. A record repeated within one file is a
real event and is kept.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .. import schema
from .._arrays import unique_sorted
from ._columns import _chunked
from ._engine import _File
from .profiles import Profile


def _rotation_k(prev: pa.ChunkedArray, cur: pa.ChunkedArray) -> int:
    """Largest k with prev[-k:] == cur[:k] (record text, line ends ignored).

    Candidates are the tail records that start with the later file's first record
    (no copy); each is then checked exactly, longest overlap first.
    """
    if len(prev) == 0 or len(cur) == 0:
        return 0
    first = cur[0].as_py()
    if first is None:
        return 0
    first = first.rstrip("\r\n")
    m = len(prev)
    lo = max(0, m - len(cur))
    tail = prev.slice(lo)
    extra = pc.subtract(pc.binary_length(tail), len(first.encode()))
    hit = pc.and_(pc.starts_with(tail, pattern=first), pc.less_equal(extra, 2))
    cand = np.flatnonzero(hit.to_numpy(zero_copy_only=False)) + lo
    for j in cand:  # smallest j = largest k
        k = m - int(j)
        a = pc.utf8_rtrim(prev.slice(int(j), k), characters="\r\n")
        b = pc.utf8_rtrim(cur.slice(0, k), characters="\r\n")
        if pc.all(pc.equal(a, b)).as_py():
            return k
    return 0


def _rotation_k_hashed(prev: np.ndarray, cur: np.ndarray) -> int:
    """:func:`_rotation_k` on record hashes (int64): largest k with prev[-k:] == cur[:k]."""
    m = len(prev)
    lo = max(0, m - len(cur))
    for j in np.flatnonzero(prev[lo:] == cur[0]) + lo:  # smallest j = largest k
        if np.array_equal(prev[j:], cur[: m - j]):
            return int(m - j)
    return 0


def _rotation(
    raw: pd.DataFrame,
    rhash: np.ndarray | None,
    hashed: np.ndarray,
    files: list[_File],
    f_start: np.ndarray,
    f_count: np.ndarray,
    row_file: np.ndarray,
    prof: Profile | None,
) -> np.ndarray:
    """Rotation duplicates at the head of each file (files in evidence order).

    Each file is compared with the previous file of its lab as read (all its
    records), even when that file itself lost rows to its own predecessor.
    Records are compared on their text: through a 64-bit hash of it (FNV-1a,
    ``_rhash``) for readers that give one, else on the ``_record`` text. Pairs
    with hashes are first screened all at once (the later file's first record
    must be in the earlier file's tail); only those that pass are compared.
    """
    skip = np.zeros(len(files), dtype=np.int64)
    if not len(raw) or (rhash is None and "_record" not in raw.columns):
        return skip
    prev: dict[str, int] = {}
    pairs: list[tuple[int, int]] = []
    for k, f in enumerate(files):
        spec = f.spec
        rotates = spec.rotation and (prof is None or prof.rotation or spec.name != "lis_profile")
        if not rotates or f.fr.lab is None or not f.has_record:
            continue
        p = prev.get(f.fr.lab)
        prev[f.fr.lab] = k
        if p is not None and f_count[p] and f_count[k]:
            pairs.append((p, k))
    if not pairs:
        return skip
    pp = np.asarray([p for p, _ in pairs], dtype=np.int64)
    cc = np.asarray([c for _, c in pairs], dtype=np.int64)
    both = hashed[pp] & hashed[cc]
    text = ~hashed[pp] & ~hashed[cc]  # a hashed and a text file never hold the same record
    if both.any():
        hp, hc = pp[both], cc[both]
        succ = np.full(len(files), -1, dtype=np.int64)
        succ[hp] = hc
        first_key = np.zeros(len(files), dtype=np.int64)
        first_key[hc] = rhash[f_start[hc]]
        rows = np.flatnonzero(succ[row_file] >= 0)
        c_of = succ[row_file[rows]]
        pos = rows - f_start[row_file[rows]]
        hit = (pos >= f_count[row_file[rows]] - f_count[c_of]) & (rhash[rows] == first_key[c_of])
        pred = dict(zip(hc.tolist(), hp.tolist(), strict=True))
        for c in unique_sorted(c_of[hit]).tolist():
            p = pred[c]
            skip[c] = _rotation_k_hashed(
                rhash[f_start[p] : f_start[p] + f_count[p]],
                rhash[f_start[c] : f_start[c] + f_count[c]],
            )
    if text.any():
        rec = _chunked(raw["_record"].astype(schema.STRING))
        for p, c in zip(pp[text].tolist(), cc[text].tolist(), strict=True):
            skip[c] = _rotation_k(
                rec.slice(int(f_start[p]), int(f_count[p])),
                rec.slice(int(f_start[c]), int(f_count[c])),
            )
    return skip
