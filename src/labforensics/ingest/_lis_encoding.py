"""A file's bytes as UTF-8, with every byte not decoded in the file's encoding accounted for.

Two things a plain ``data.decode(encoding, errors="replace")`` hides:

* **Rows written in UTF-8 inside a single-byte file** (a cp1252 export appended
  to by a second program that writes UTF-8): decoded as cp1252 they turn into
  mojibake (``hélène.m`` becomes ``hÃ©lÃ¨ne.m``, a separate account). A cp1252
  text practically never holds the UTF-8 sequences of Latin-script text (their
  cp1252 reading is ``Ã©``, ``Ã¨``, ``â€™``: see :func:`_utf8_starts`), so a
  physical line that holds one and decodes as UTF-8 as a whole is decoded as
  UTF-8. Other valid sequences occur in cp1252 text by chance (``É—`` is C9 97,
  UTF-8 for ``ɗ``) and alone never make a line UTF-8. The positions of its multi-byte characters are returned, so the
  reader reports each such row (file, line, field).
* **Rows written in cp1252 inside a UTF-8 file** (the current dialect's export
  saved by a Windows tool without a BOM): read as UTF-8 with ``errors="replace"``,
  ``hélène.m`` and ``hèlène.m`` both became ``h\ufffdl\ufffdne.m``, one account
  (QA session 11). In a file declared UTF-8 that is not valid UTF-8
  (:func:`_utf8_or_cp1252`): a file holding no typical UTF-8 sequence is decoded as
  cp1252 as a whole; otherwise each physical line that is not valid UTF-8 is decoded
  as cp1252. Those lines are counted and named like the UTF-8 lines of a cp1252 file
  (``Transcoded.recoded_as`` says which encoding the recoded lines were read in).
* **Undecodable bytes** (an invalid UTF-8 byte no cp1252 reading saves, one of the
  five bytes cp1252 leaves undefined: 0x81, 0x8D, 0x8F, 0x90, 0x9D) become U+FFFD
  **followed by the byte in hex** (``\ufffdx81``), one per byte, never a bare U+FFFD:
  a bare replacement character makes two different byte strings one value (two
  accounts, hosts, sites or labs become one identity, a false shared account). The
  escape keeps them distinct in every column, identity columns included, and keeps the
  row (quarantining it would drop an event that is otherwise readable); it is ASCII
  after U+FFFD, so it is safe in CSV, JSON and XML text and matches the readers'
  ``\\S+`` patterns as the bare U+FFFD did. A value that already held U+FFFD followed by
  ``x`` and two hex digits (text that went through a lossy converter before) could
  equal one; each escape is a field problem anyway. The position of each escape is
  returned, so the reader counts and names them (file, line, field).

Cost on a normal file: :meth:`bytes.isascii` for an ASCII file; for a non-ASCII
single-byte file one vectorised pass (the positions of bytes >= 0x80, then a few
operations on those positions only) and the strict decode that was done anyway.
Python loops run only per UTF-8 line found in a single-byte file, per cp1252 line
found in a UTF-8 file that holds UTF-8 text too, and per undecodable byte.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from .._arrays import unique_sorted
from ._bytes_text import _decode_counting
from ._lis_structure import _problems_at
from .registry import FieldProblem

__all__ = ["Transcoded", "decode_utf8_accounted", "transcode"]

#: What an undecodable byte is read as, its hex after U+FFFD (see the module docstring).
ESCAPED = "U+FFFD followed by its hex (xNN)"
_EMPTY = np.zeros(0, dtype=np.int64)


@dataclass
class Transcoded:
    """One file's bytes as UTF-8 and what was decoded otherwise.

    Attributes
    ----------
    data : bytes or memoryview
        Valid UTF-8 (the input itself when nothing needed decoding).
    replaced : numpy.ndarray
        int64, ascending: byte position in ``data`` of each U+FFFD that stands for an
        undecodable input byte (one per byte, each followed by ``x`` and its hex).
    recoded : numpy.ndarray
        int64, ascending: byte position in ``data`` of each multi-byte character of
        the lines decoded in ``recoded_as`` rather than the file's encoding.
    recoded_as : str
        ``"utf-8"`` (lines in UTF-8 in a single-byte file) or ``"cp1252"`` (lines in
        cp1252 in a UTF-8 file).
    """

    data: bytes | memoryview
    replaced: np.ndarray
    recoded: np.ndarray
    recoded_as: str = "utf-8"


def _is_utf8(enc: str) -> bool:
    return enc.lower().replace("_", "-") in ("utf-8", "utf8", "utf-8-sig")


@functools.lru_cache(maxsize=16)
def _single_byte(encoding: str) -> bool:
    """True for an ASCII-compatible single-byte codec (cp1252, latin-1, iso-8859-15 ...)."""
    if _is_utf8(encoding):
        return False
    try:
        singles = [bytes([b]).decode(encoding, errors="replace") for b in range(256)]
        whole = bytes(range(256)).decode(encoding, errors="replace")
    except LookupError:
        return False
    ascii_ok = all(singles[b] == chr(b) for b in range(128))
    return ascii_ok and all(len(s) == 1 for s in singles) and "".join(singles) == whole


def _utf8_starts(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where valid UTF-8 multi-byte sequences start in ``arr`` (uint8): all, and typical.

    Worked on the positions of the bytes >= 0x80 only: a sequence is a lead byte
    followed by 1-3 continuation bytes (0x80-0xBF) at the next positions, with the
    second-byte limits that exclude overlong forms and surrogates.

    Returns
    -------
    all, typical : numpy.ndarray
        int64 positions, ascending. ``typical``: the sequences of the characters a
        UTF-8 writer of Latin-script text produces (see the code); a cp1252 text can
        hold a valid sequence by chance (``É—`` is bytes C9 97, UTF-8 for ``ɗ``;
        ``é€—`` is a CJK character), so only a typical one makes a line UTF-8.
    """
    p = np.flatnonzero(arr >= 0x80)
    m = len(p)
    if m < 2:
        return _EMPTY, _EMPTY
    b = arr[p]
    cont = b <= 0xBF

    def follows(k: int) -> np.ndarray:  # the k-th non-ASCII byte after is adjacent, a cont.
        out = np.zeros(m, dtype=bool)
        if m > k:
            out[:-k] = (p[k:] - p[:-k] == k) & cont[k:]
        return out

    f1 = follows(1)
    second = np.zeros(m, dtype=np.int64)
    second[:-1] = b[1:]
    ok2 = (b >= 0xC2) & (b <= 0xDF) & f1
    f2 = f1 & follows(2)
    ok3 = (
        (b >= 0xE0)
        & (b <= 0xEF)
        & f2
        & ~((b == 0xE0) & (second < 0xA0))
        & ~((b == 0xED) & (second > 0x9F))
    )
    ok4 = (
        (b >= 0xF0)
        & (b <= 0xF4)
        & f2
        & follows(3)
        & ~((b == 0xF0) & (second < 0x90))
        & ~((b == 0xF4) & (second > 0x8F))
    )
    ok = ok2 | ok3 | ok4
    # the sequences a UTF-8 writer of Latin-script text produces, and a cp1252 text
    # does not (their cp1252 reading is mojibake: 'Ã©', 'â€™', 'Å“', 'Ð¸'): U+0080-U+017F
    # (lead 0xC2-0xC5), Greek and Cyrillic (0xCE-0xD3), U+2000-U+21BF (0xE2 0x80-0x86:
    # punctuation, currency, letterlike), emoji (0xF0 0x9F), and the byte-order mark
    # (EF BB BF, U+FEFF: 'ï»¿' in cp1252), which starts a UTF-8 file glued on with `cat`
    third = np.zeros(m, dtype=np.int64)
    third[:-2] = b[2:]
    typical = (
        ((b == 0xEF) & (second == 0xBB) & (third == 0xBF))  # a BOM (U+FEFF): a UTF-8 file glued on
        | ((b >= 0xC2) & (b <= 0xC5))
        | ((b >= 0xCE) & (b <= 0xD3))
        | ((b == 0xE2) & (second <= 0x86))
        | ((b == 0xF0) & (second == 0x9F))
    )
    return p[ok].astype(np.int64), p[ok & typical].astype(np.int64)


def transcode(data: bytes | memoryview, encoding: str) -> Transcoded:
    """One file's bytes (BOM dropped) as UTF-8; see the module docstring.

    Parameters
    ----------
    data : bytes or memoryview
        The file's bytes, line ends LF or CRLF.
    encoding : str
        The profile's codec (``"cp1252"``, ``"utf-8"``, ``"utf-8-sig"`` ...).

    Returns
    -------
    Transcoded
        ``;``, ``"`` and line ends keep their places: they are ASCII, and no UTF-8
        multi-byte sequence holds an ASCII byte.
    """
    raw = bytes(data) if isinstance(data, memoryview) else data
    if raw.isascii():
        return Transcoded(data, _EMPTY, _EMPTY)
    if _is_utf8(encoding):
        try:
            raw.decode("utf-8")
            return Transcoded(data, _EMPTY, _EMPTY)
        except UnicodeDecodeError:
            return _utf8_or_cp1252(raw)
    if not _single_byte(encoding):
        out, where = _decode_counting(raw, encoding)
        return Transcoded(out, where, _EMPTY)
    arr = np.frombuffer(raw, dtype=np.uint8)
    starts, typical = _utf8_starts(arr)
    if not len(typical):  # a plain single-byte file: the usual case
        out, where = _decode_counting(raw, encoding)
        return Transcoded(out, where, _EMPTY)
    try:  # the whole file is UTF-8 (a profile naming the wrong encoding)
        raw.decode("utf-8")
        return Transcoded(data, _EMPTY, starts)
    except UnicodeDecodeError:
        pass
    return _mixed(raw, arr, starts, typical, encoding)


def _non_ascii(out: bytes, where: np.ndarray) -> np.ndarray:
    """Positions of the multi-byte characters of ``out`` (UTF-8) but the U+FFFD at ``where``."""
    o = np.frombuffer(out, dtype=np.uint8)
    return np.setdiff1d(np.flatnonzero(o >= 0xC0), where).astype(np.int64)


def _utf8_or_cp1252(raw: bytes) -> Transcoded:
    """A file declared UTF-8 that is not valid UTF-8: its cp1252 lines decoded as cp1252.

    With no typical UTF-8 sequence (:func:`_utf8_starts`) the file is cp1252 text saved
    without a BOM: decoded as cp1252 as a whole (a chance valid sequence such as
    ``É—`` stays cp1252, as in a cp1252 file). Otherwise each physical line that is not
    valid UTF-8 is decoded as cp1252, unless it holds a typical UTF-8 sequence: that is
    a UTF-8 line with a stray byte (read as cp1252, ``hélène.m`` would become the
    separate account ``hÃ©lÃ¨ne.m``), decoded as UTF-8. Bytes a line's encoding cannot
    read are escaped (U+FFFD and the byte's hex). ``recoded``: the multi-byte characters of the
    lines decoded as cp1252.
    """
    arr = np.frombuffer(raw, dtype=np.uint8)
    starts, typical = _utf8_starts(arr)
    if not len(typical):
        out, where = _decode_counting(raw, "cp1252")
        return Transcoded(out, where, _non_ascii(out, where), "cp1252")
    lead = arr[starts]
    size = np.where(lead < 0xE0, 2, np.where(lead < 0xF0, 3, 4))
    covered = np.zeros(len(arr) + 4, dtype=bool)
    for k in range(4):
        covered[starts[size > k] + k] = True
    high = np.flatnonzero(arr >= 0x80)
    bad = high[~covered[high]]  # bytes in no valid UTF-8 sequence
    nl = np.flatnonzero(arr == 10)
    ends = np.append(nl, len(raw))
    lines = unique_sorted(np.searchsorted(nl, bad, side="left"))
    utf8_line = np.zeros(len(ends), dtype=bool)  # holds a typical UTF-8 sequence
    utf8_line[np.searchsorted(nl, typical, side="left")] = True
    view = memoryview(raw)
    parts: list[bytes | memoryview] = []
    replaced: list[np.ndarray] = []
    recoded: list[np.ndarray] = []
    pos, olen = 0, 0
    for ln in lines.tolist():  # one turn per line that is not UTF-8: rare in such a file
        a, b = (int(ends[ln - 1]) + 1 if ln else 0), int(ends[ln])
        parts.append(view[pos:a])  # valid UTF-8 lines, kept as written
        olen += a - pos
        enc = "utf-8" if utf8_line[ln] else "cp1252"
        out, where = _decode_counting(view[a:b], enc)
        parts.append(out)
        replaced.append(where + olen)
        if enc == "cp1252":
            recoded.append(_non_ascii(out, where) + olen)
        olen += len(out)
        pos = b
    parts.append(view[pos:])

    def cat(x: list[np.ndarray]) -> np.ndarray:
        return np.concatenate(x) if x else _EMPTY

    return Transcoded(b"".join(parts), cat(replaced), cat(recoded), "cp1252")


def _mixed(
    raw: bytes, arr: np.ndarray, starts: np.ndarray, typical: np.ndarray, encoding: str
) -> Transcoded:
    """A single-byte file with some lines in UTF-8: a line holding a typical sequence
    (:func:`_utf8_starts`) that decodes as UTF-8 as a whole is decoded as UTF-8."""
    nl = np.flatnonzero(arr == 10)
    line = np.searchsorted(nl, starts, side="left")  # 0-based physical line of each start
    cand = unique_sorted(np.searchsorted(nl, typical, side="left"))
    ends = np.append(nl, len(raw))  # a last line without LF ends at the end (no LF at all)
    ls = np.where(cand > 0, ends[np.maximum(cand - 1, 0)] + 1, 0)
    le = ends[cand]
    view = memoryview(raw)
    is_utf8 = np.zeros(len(cand), dtype=bool)
    for i, (a, b) in enumerate(zip(ls.tolist(), le.tolist(), strict=True)):  # UTF-8 lines: rare
        try:
            str(view[a:b], "utf-8")
            is_utf8[i] = True
        except UnicodeDecodeError:  # a valid sequence in a line that is not UTF-8: cp1252
            pass
    parts: list[bytes | memoryview] = []
    replaced: list[np.ndarray] = []
    recoded: list[np.ndarray] = []
    pos, olen = 0, 0
    sel = (cand[is_utf8].tolist(), ls[is_utf8].tolist(), le[is_utf8].tolist())
    for ci, a, b in zip(*sel, strict=True):
        out, where = _decode_counting(view[pos:a], encoding)
        parts.append(out)
        replaced.append(where + olen)
        olen += len(out)
        parts.append(view[a:b])  # valid UTF-8: kept as written
        recoded.append(starts[line == ci] - a + olen)
        olen += b - a
        pos = b
    out, where = _decode_counting(view[pos:], encoding)
    parts.append(out)
    replaced.append(where + olen)
    rec = np.concatenate(recoded) if recoded else _EMPTY
    return Transcoded(b"".join(parts), np.concatenate(replaced), rec)


_LINES_SHOWN = 20


def _recoded_what(enc: str, other: str) -> str:
    return f"written in {other} in a {enc} file: decoded as {other}"


def _replaced_what(label: str) -> str:
    """A field problem's text (a UTF-16 file's bytes are escaped alike at conversion)."""
    return f"undecodable byte(s) ({label}) read as {ESCAPED}"


def _recoded_note(n: int, enc: str, other: str, lns: np.ndarray) -> str:
    return (f"{n} row(s) written in {other} in this {enc} file, decoded as {other}: "
            f"line(s) {_line_list(lns)}")  # fmt: skip


def _replaced_note(n: int, label: str, lns: np.ndarray) -> str:
    return f"{n} undecodable byte(s) ({label}) read as {ESCAPED}: line(s) {_line_list(lns)}"


def _line_list(lns: np.ndarray) -> str:
    shown = ", ".join(str(x) for x in lns[:_LINES_SHOWN].tolist())
    more = len(lns) - _LINES_SHOWN
    return shown + (f" (+{more} more, each a field problem)" if more > 0 else "")


@dataclass
class EncodingAccount:
    """What a batch's transcoding changed, per file (see :func:`encoding_account`).

    Attributes
    ----------
    recoded_rows, replaced : numpy.ndarray
        int64, shape (n_files,): records decoded as UTF-8 in a single-byte file;
        U+FFFD characters standing for undecodable bytes.
    notes : list of str
        One per file, ``""`` when nothing changed, else the lines concerned.
    problems : list of (int, FieldProblem)
        ``(file, problem)``: one per (data record, field) concerned.
    """

    recoded_rows: np.ndarray
    replaced: np.ndarray
    notes: list[str]
    problems: list


def encoding_account(
    replaced: np.ndarray,
    recoded: np.ndarray,
    starts: np.ndarray,
    data: bytes,
    rs: np.ndarray,
    ce: np.ndarray,
    kind: np.ndarray,
    rfile: np.ndarray,
    lines: np.ndarray,
    profile,
    encodings: list[str | None] | None = None,
) -> EncodingAccount:
    """Count and name the batch's re-decoded rows and replacement characters.

    Parameters
    ----------
    replaced, recoded : numpy.ndarray
        int64 positions in ``data`` (the batch's UTF-8 bytes), ascending
        (:class:`Transcoded` positions moved by each file's start).
    starts : numpy.ndarray
        int64, shape (n_files + 1,): each file's start in ``data``, then its end.
    data : bytes
    rs, ce, kind, rfile, lines : numpy.ndarray
        Each record's byte start and content end, kind (0: data), file and 1-based
        first physical line.
    profile : Profile
    encodings : list of (str or None), optional
        Per file, the encoding its replacement characters are named with when it is not
        the profile's (``"UTF-16"`` for a file that was UTF-16 text); None: the profile's.

    Returns
    -------
    EncodingAccount
    """

    nf = len(starts) - 1
    notes = [""] * nf
    out = EncodingAccount(np.zeros(nf, np.int64), np.zeros(nf, np.int64), notes, [])
    if not len(replaced) and not len(recoded):
        return out
    enc = profile.encoding
    label = [(e or enc) for e in (encodings or [None] * nf)]
    parts: list[list[str]] = [[] for _ in range(nf)]
    other = "cp1252" if _is_utf8(enc) else "UTF-8"  # what the recoded lines were read in
    for pos, what in (
        (recoded, _recoded_what(enc, other)),
        (replaced, _replaced_what(enc)),
    ):
        if not len(pos):
            continue
        fpos = np.searchsorted(starts, pos, side="right") - 1
        rec = np.maximum(np.searchsorted(rs, pos, side="right") - 1, 0)
        if pos is replaced:
            out.replaced += np.bincount(fpos, minlength=nf)[:nf]
        # (file, record) pairs: a record lies in one file
        recs = unique_sorted(rec) if len(rs) else rec[:0]
        if pos is recoded:
            out.recoded_rows += np.bincount(rfile[recs], minlength=nf)[:nf]
        for f in unique_sorted(rfile[recs]).tolist():
            lns = lines[recs[rfile[recs] == f]]
            if pos is recoded:
                parts[f].append(_recoded_note(len(lns), enc, other, lns))
            else:
                n = int(np.count_nonzero(fpos == f))
                parts[f].append(_replaced_note(n, label[f], lns))
        if pos is recoded or all(x == enc for x in label):
            out.problems += _problems_at(pos, what, data, rs, ce, kind, rfile, lines, profile)
            continue
        for lab in sorted(set(label)):  # each file's replacement characters by its encoding
            sel = np.asarray(label, dtype=object)[fpos] == lab
            out.problems += _problems_at(pos[sel], _replaced_what(lab),
                                         data, rs, ce, kind, rfile, lines, profile)  # fmt: skip
    for f in range(nf):
        notes[f] = "; ".join(parts[f])
    return out


def line_account(t: Transcoded, nl: np.ndarray, encoding: str) -> tuple[int, int, str, list]:
    """The same accounting for a reader of one record a line (regex profiles).

    Parameters
    ----------
    t : Transcoded
    nl : numpy.ndarray
        int64 positions of the line feeds in ``t.data``.
    encoding : str

    Returns
    -------
    tuple
        ``(rows_recoded, replacement_chars, note, problems)``: problems one
        :class:`~labforensics.ingest.registry.FieldProblem` per line concerned,
        column ``line``, value ``""`` (the line may hold a patient identifier).
    """

    parts, problems = [], []
    n_rec, n_rep = 0, len(t.replaced)
    other = "UTF-8" if t.recoded_as == "utf-8" else t.recoded_as
    for pos, what in (
        (t.recoded, _recoded_what(encoding, other)),
        (t.replaced, _replaced_what(encoding)),
    ):
        if not len(pos):
            continue
        lns = unique_sorted(np.searchsorted(nl, pos, side="left") + 1)
        problems += [FieldProblem(int(x), "line", "", what) for x in lns.tolist()]
        if pos is t.recoded:
            n_rec = len(lns)
            parts.append(_recoded_note(n_rec, encoding, other, lns))
        else:
            parts.append(_replaced_note(n_rep, encoding, lns))
    return n_rec, n_rep, "; ".join(parts), problems


def decode_utf8_accounted(
    data: bytes, utf16: np.ndarray | None = None, *, cp1252: bool = True
) -> tuple[str, int, int, str, list]:
    """UTF-8 text of a file (a BOM dropped), with what was not UTF-8 accounted for.

    For the readers that decode a whole file as UTF-8 (syslog, FHIR, xferlog; ATNA for
    the count): a file that is not valid UTF-8 has its cp1252 lines decoded as cp1252
    (:func:`_utf8_or_cp1252`: two logins that differ by an accent stay two), and bytes
    no encoding reads become U+FFFD and their hex (:mod:`._bytes_text`, never a bare U+FFFD:
    two values must not become one); both are counted and named the way
    :func:`line_account` does for the regex profiles, so that no loss is silent. A file
    that decodes (the usual case) costs one strict decode.

    Parameters
    ----------
    data : bytes
        The file's bytes (decompressed; UTF-16 already made UTF-8).
    utf16 : numpy.ndarray, optional
        For a file that was UTF-16 text (:attr:`~labforensics.ingest.files.Decompressed.utf16`):
        the int64 positions in ``data`` of the U+FFFD its conversion made; they are counted
        and named as undecodable UTF-16 (the converted bytes are valid UTF-8).
    cp1252 : bool, default True
        False: no line is decoded as cp1252 (ATNA, whose XML parser reads the bytes
        itself: the text only counts them), each invalid byte escaped.

    Returns
    -------
    text : str
    rows_recoded : int
        Lines decoded as cp1252.
    replacement_chars : int
        U+FFFD characters standing for undecodable bytes (UTF-16 sequences).
    note : str
        ``""``, or how many and their lines (``FileRead.encoding_note``).
    problems : list of FieldProblem
        One per line concerned, column ``line``, value ``""``.
    """
    bom = 3 if data[:3] == b"\xef\xbb\xbf" else 0
    data = data[bom:]
    if utf16 is not None and len(utf16):  # valid UTF-8: the conversion's U+FFFD counted
        label = "UTF-16"
        t = Transcoded(data, np.asarray(utf16, dtype=np.int64) - bom, _EMPTY)
    else:
        try:
            return str(data, "utf-8"), 0, 0, "", []
        except UnicodeDecodeError:
            pass
        label = "utf-8"
        if cp1252:
            t = _utf8_or_cp1252(bytes(data))
        else:
            t = Transcoded(*_decode_counting(data, "utf-8"), _EMPTY)
    utf8 = bytes(t.data)
    nl = np.flatnonzero(np.frombuffer(utf8, dtype=np.uint8) == 10)
    n_rec, n_rep, note, problems = line_account(t, nl, label)
    return utf8.decode("utf-8"), n_rec, n_rep, note, problems
