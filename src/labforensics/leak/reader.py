"""Reading a leak: leaked identifiers, pseudonymised on read, and the labs' patient
indexes (NIR -> patient). No raw identifier is kept; every line of a leak file is used
or accounted for (see :func:`read_leak`)."""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..case import DEFAULT_TZ
from ..errors import AttributionError
from ..ingest.files import utf16_without_bom
from ..labcodes import canonical_lab, lab_alias_map, resolve_lab_series
from ..outputs import FORMULA_PREFIXES
from ..privacy import CaseKey, load_case_key, pseudonymise, pseudonymise_nirs
from .index import (
    _LAB_NAMES,
    _NIR_NAMES,
    _normalise_nir,
    _pick,
    _read_index,
    _read_text,
    _sniff_sep,
)

_PSEUDO_RE = re.compile(r"^P[0-9a-f]{16}$")

#: The shape of an identifier of each kind, and why a value without it is set aside:
#: an IPP is the lab's permanent patient id, digits with leading zeros significant
#: (``shared/formats/patient-index.md``); a pseudonym is ``P`` + 16 hex digits (keyed
#: with the case key); a NIR, separators and key dropped, is sex, year, month, place
#: and order (13 characters: ``leak.nir``).
ID_SHAPES: dict[str, tuple[str, str]] = {
    "ipp": (r"\d+", "not an IPP (digits only, leading zeros kept: patient-index.md)"),
    "pseudonym": (r"P[0-9a-f]{16}", "not a pseudonym (P and 16 hexadecimal digits)"),
    "nir": (r"[1-478]\d{4}(?:\d{2}|2A|2B)\d{6}",
            "not a NIR (15 characters, or 13 without the key: sex, year, month, place, order)"),
}  # fmt: skip
_FORMULA = "starts like a spreadsheet formula (=, +, -, @): not an identifier"


_ID_NAMES = ("ipp", "patient", "patient_id", "id_patient", "pseudonym", "pseudonyme", "id")


_DATE_NAMES = (
    "date",
    "sample_date",
    "date_prelevement",
    "date_examen",
    "date_dernier_examen",
    "last_seen",
    "horodatage",
)


_LEAK_COLUMNS = ("leak_id", "lab", "patient", "id_kind", "lab_given", "date")


#: At most this many rejected leak lines are listed (line, reason) in the leak report.
LEAK_REJECTED_LISTED = 200


def _read_leak_lines(path: str | os.PathLike[str]) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read a leak CSV line by line: every physical line is used or accounted for.

    The first non-blank line is the header (separator sniffed among ``;``, ``,`` and
    tab; UTF-8 with or without BOM, else cp1252; ``\r\n`` or ``\n``). A data line
    with another field count than the header, or holding bytes the file's encoding
    cannot read (read as U+FFFD: its values cannot be trusted), is rejected
    (``malformed``) with its line number and reason; blank lines are counted; the
    others are kept. Such bytes in the header line are an error.

    Returns
    -------
    df : pandas.DataFrame
        The kept rows as strings (header columns), plus ``_line`` (int64, 1-based
        physical line).
    report : dict
        ``lines_read`` (physical lines, header included), ``header_line``,
        ``blank``, ``malformed`` (count) and ``rejected`` (list of
        ``{"line", "reason"}``): never an identifier value.

    Raises
    ------
    AttributionError
        The file cannot be read or has no header line.
    """
    p = Path(path)
    read = _read_text(p, "leak file")
    bad = set(read.lines)  # lines holding bytes the file's encoding cannot read
    text = read.text.lstrip("\ufeff")
    if "\x00" in text:
        utf16 = utf16_without_bom(text[:512].encode("utf-8", errors="replace"))
        if utf16 is not None:
            raise AttributionError(f"leak file {p} {utf16}")
        raise AttributionError(
            f"leak file {p} is not text (it holds NUL bytes: binary, or UTF-16 without a "
            "byte-order mark); expected a delimited text file (CSV), UTF-8 or cp1252"
        )
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the final line end closes the last line, it does not open one
    lines = [ln[:-1] if ln.endswith("\r") else ln for ln in lines]
    report: dict[str, Any] = {
        "lines_read": len(lines),
        "header_line": None,
        "blank": 0,
        "malformed": 0,
        "rejected": [],
    }
    h = next((i for i, ln in enumerate(lines) if ln.strip()), None)
    if h is None:
        report["blank"] = len(lines)
        return pd.DataFrame({"_line": pd.Series([], dtype="int64")}), report
    report["blank"] = h
    if h + 1 in bad:  # a column name read with U+FFFD: the columns cannot be trusted
        raise AttributionError(read.note("leak file", p) + ", its header among them")
    sep = _sniff_sep(lines[h])
    header, start = _leak_header(lines[h], h, sep, p, report)
    n = len(header)
    rows: list[list[str]] = []
    kept: list[int] = []
    # one line at a time (a quoted field spanning lines is not a leak file shape)
    for i, row in enumerate(_line_rows(lines[start:], sep, p, start), start=start + 1):
        if row is not None and (not row or (len(row) == 1 and not row[0].strip())):
            report["blank"] += 1
            continue
        if row is None or len(row) != n or i in bad:
            report["malformed"] += 1
            why = (_OPEN_QUOTE if row is None else
                   f"expected {n} fields (header), saw {len(row)}" if len(row) != n else
                   f"{read.what()}: not used")  # fmt: skip
            report["rejected"].append({"line": i, "reason": why})
            continue
        rows.append(row)
        kept.append(i)
    df = (
        pd.DataFrame(rows, columns=header, dtype=object)
        if rows
        else pd.DataFrame({c: pd.Series([], dtype=object) for c in header})
    )
    df = df.astype("string")
    df.columns = header
    df["_line"] = np.asarray(kept, dtype=np.int64)
    return df, report


#: Reason of a list line whose quoted field is left open at its end.
_OPEN_QUOTE = "a quoted field is not closed on this line (an identifier list has no line breaks)"


def _line_rows(lines: list[str], sep: str, p: Path, offset: int) -> list[list[str] | None]:
    """One row per physical line: its cells, or None when a quoted field is left open at
    the line's end (the csv module would join the next line to it, shifting every later
    line number and leaving a line unaccounted for). One csv pass over all the lines;
    only when some line leaves a quote open are they read again one by one.

    Raises
    ------
    AttributionError
        A line the csv module cannot split (:func:`_rows_or_error`).
    """
    texts = [ln + "\n" for ln in lines]  # a field holding a line end was left open
    kw = {"delimiter": sep, "skipinitialspace": True, "strict": False}
    rows: list[list[str] | None] = list(_rows_or_error(csv.reader(texts, **kw), p, offset))
    if len(rows) == len(texts) and not (rows and any("\n" in c for c in rows[-1] or [])):
        return rows
    rows = []
    for k, t in enumerate(texts):
        row = next(iter(_rows_or_error(csv.reader([t], **kw), p, offset + k)), [])
        rows.append(None if any("\n" in c for c in row) else row)
    return rows


def _rows_or_error(reader: Any, p: Path, offset: int) -> Any:
    """The CSV reader's rows; a line the csv module cannot split is a clear error naming
    the file and the physical line (``offset``: lines before the reader's first; never
    its content)."""
    try:
        yield from reader
    except csv.Error as exc:
        raise AttributionError(
            f"leak file {p}, line {offset + reader.line_num}: not a delimited text file ({exc}); "
            "expected a CSV of identifiers or a dump of people"
        ) from None


def _leak_header(
    line: str, h: int, sep: str, p: Path, report: dict[str, Any]
) -> tuple[list[str], int]:
    """Header of a leak file whose first non-blank line is ``line`` (0-based index
    ``h``): its column names and the index of the first data line. Notes
    ``header_line`` or ``headerless`` in ``report``.

    Raises
    ------
    AttributionError
        A first line that is no header and has more than two fields.
    """
    try:
        first = [c.strip() for c in next(csv.reader([line], delimiter=sep))]
    except csv.Error as exc:
        raise AttributionError(
            f"leak file {p}, line {h + 1}: not a delimited text file ({exc})"
        ) from None
    if _is_header(first):
        report["header_line"] = h + 1
        return first, h + 1
    # a bare list (no header): the first line is data, never silently eaten as a
    # header; one column is the identifier, two are lab and identifier
    header = ["id"] if len(first) == 1 else ["lab", "id"] if len(first) == 2 else None
    if header is None:
        raise AttributionError(
            f"leak file {p}: line {h + 1} is not a header (no column name among "
            f"{sorted(_ID_NAMES + _NIR_NAMES + _LAB_NAMES)}) and has {len(first)} "
            "fields; add a header line"
        )
    report["headerless"] = True
    return header, h


def _is_header(fields: list[str]) -> bool:
    """A leak file's first line is a header when it names a known column, or holds no
    digit at all (identifiers, NIRs and pseudonyms all have digits)."""
    known = {n.lower() for n in _ID_NAMES + _NIR_NAMES + _LAB_NAMES + _DATE_NAMES}
    if any(f.lower() in known for f in fields):
        return True
    return not any(ch.isdigit() for f in fields for ch in f)


def _looks_like_nir(s: pd.Series) -> bool:
    t = _normalise_nir(s.dropna())
    if t.empty:
        return False
    ok = t.str.fullmatch(r"[1-478]\d{4}(\d{2}|2A|2B)\d{6}")
    return bool(ok.mean() >= 0.9)


def read_leak(
    source: Any,
    *,
    case_key: CaseKey | bytes | str | os.PathLike[str] | None = None,
    labs: Iterable[str] | None = None,
    lab_aliases: Mapping[str, str] | None = None,
    id_column: str | None = None,
    lab_column: str | None = None,
    date_column: str | None = None,
    patient_index: Any = None,
    index_lab_column: str | None = None,
    tz: str = DEFAULT_TZ,
) -> pd.DataFrame:
    """Read leaked patient identifiers and pseudonymise them on read.

    Parameters
    ----------
    source : path, list, Series or DataFrame
        A CSV file with a header (separator sniffed among ``;``, ``,`` and tab;
        UTF-8 or cp1252), or the identifiers themselves. Columns are found by
        name (case-insensitive): identifier ``IPP``/``patient``/``id`` or a NIR
        column (``NIR``, ``num_secu`` ...), lab ``lab``/``LABO``/``code_labo``/
        ``FINESS``, sample date ``date``/``date_prelevement`` ...; a file with one
        column is read as identifiers. Identifiers shaped ``P`` + 16 hex digits
        are taken as pseudonyms already keyed with the case key.
    case_key : CaseKey, bytes, hex str, path or None
        The case key (see :func:`labforensics.privacy.load_case_key`).
    labs : iterable of str, optional
        Lab codes of the evidence: required when raw IPPs come without a lab,
        since each is then pseudonymised in every lab.
    lab_aliases : mapping, optional
        Lab identifier (e.g. FINESS) -> lab code.
    id_column, lab_column, date_column : str, optional
        Column names, when the defaults do not find them.
    patient_index : path, list of paths, mapping lab -> path, or DataFrame
        For NIRs: the labs' patient indexes (columns IPP and NIR, and a lab column
        unless given per lab by the mapping). NIR and IPP are keyed-hashed on read.
    index_lab_column : str, optional
        Name of the lab column of the index files.
    tz : str, default the case default (:data:`labforensics.case.DEFAULT_TZ`)
        Time zone of naive sample dates.

    Returns
    -------
    pandas.DataFrame
        Columns ``leak_id`` (string: the identifier's pseudonym; lab-less IPPs
        are keyed with the lab ``"*"``; NIRs are ``N`` keyed ids), ``lab`` (string,
        missing when unknown), ``patient`` (string pseudonym of (lab, IPP) to
        match, missing when unknown), ``id_kind`` (``ipp``, ``pseudonym``,
        ``nir``), ``lab_given`` (bool), ``date`` (datetime64[ns, UTC] or NaT).
        A lab-less IPP yields one row per lab; repeated rows appear once. No raw
        identifier is kept. ``attrs["leak_report"]`` (dict) says how the source was
        read: a file is read line by line and every line is used or accounted for
        (header, blank, ``malformed``: field count differs from the header, ``empty``
        identifier; rejected lines listed with line number and reason), plus
        ``rows_used``, ``identifiers``, ``duplicates`` and ``unknown_lab``
        (identifiers naming a lab not in ``labs``); see :func:`_finish_leak_report`.
        Counts and line numbers only, never an identifier.

    Raises
    ------
    AttributionError
        Unreadable file, no identifier column, NIRs without a patient index,
        lab-less IPPs without ``labs``.
    """
    key = load_case_key(case_key, warn=False)
    aliases = lab_alias_map(lab_aliases)  # canonical as the evidence's labs (QA 13)
    if labs is not None:
        labs = [c for c in (canonical_lab(x) for x in labs) if c is not None]
    df, report, line_no = _leak_frame(source)
    if df.empty:
        out = _empty_leak()
        out.attrs["leak_report"] = _finish_leak_report(report, 0, 0, 0, [], out, labs)
        return out
    rows = _leak_rows(df, report, line_no, aliases, id_column, lab_column, date_column, tz)
    out = (
        _pseudonymise_leak(rows, key, labs, aliases, patient_index, index_lab_column)
        if len(rows.ids)
        else _empty_leak()  # every row set aside: nothing to key
    )
    out.attrs["leak_report"] = _finish_leak_report(
        report, rows.used, rows.n_ids, rows.n_dup, rows.empty_lines, out, labs, rows.invalid
    )
    return out


def _leak_frame(source: Any) -> tuple[pd.DataFrame, dict[str, Any], np.ndarray]:
    """The leak source as a table of strings, its reading report and each row's line
    number (physical line of a file, else row number)."""
    report: dict[str, Any] = {
        "lines_read": None,
        "header_line": None,
        "blank": 0,
        "malformed": 0,
        "rejected": [],
        "source_file": None,
    }
    if isinstance(source, pd.DataFrame):
        df = source.copy()
        df.columns = [str(c) for c in df.columns]
    elif isinstance(source, str | os.PathLike):
        df, report = _read_leak_lines(source)
        report["source_file"] = Path(source).name
    elif isinstance(source, pd.Series):
        df = pd.DataFrame({"id": source.to_numpy()})
    else:
        df = pd.DataFrame({"id": list(source)})
    if "_line" in df.columns and report["lines_read"] is not None:
        line_no = df.pop("_line").to_numpy(dtype=np.int64)
    else:
        line_no = np.arange(1, len(df) + 1, dtype=np.int64)  # row number of a table
    return df, report, line_no


@dataclass
class _LeakRows:
    """The leak's rows with an identifier, before pseudonymisation (raw values)."""

    ids: pd.Series  # stripped identifiers
    lab: pd.Series  # lab code (aliases applied), missing when not given
    date: pd.Series  # sample date, UTC or NaT
    kind: str  # ipp, nir or pseudonym
    used: int  # rows with an identifier
    n_ids: int  # distinct (lab, identifier) pairs
    n_dup: int  # rows repeating an earlier pair
    empty_lines: list[int]  # line numbers of rows without identifier
    invalid: list[tuple[int, str]]  # (line, reason) of rows whose identifier or lab is junk


def _leak_rows(
    df: pd.DataFrame,
    report: dict[str, Any],
    line_no: np.ndarray,
    aliases: Mapping[str, str],
    id_column: str | None,
    lab_column: str | None,
    date_column: str | None,
    tz: str,
) -> _LeakRows:
    """Find the identifier, lab and date columns; drop rows without identifier; count
    duplicates; tell the identifiers' kind."""
    if report.get("headerless") and id_column is None and _looks_like_nir(df["id"]):
        df = df.rename(columns={"id": "nir"})  # a bare list of social security numbers
    if id_column is not None and id_column not in df.columns:
        raise AttributionError(
            f"leak: id_column={id_column!r} is not a column of the file; its columns are "
            f"{list(df.columns)}"
        )
    nir_c = _pick(df.columns, _NIR_NAMES, None) if id_column is None else None
    id_c = id_column or nir_c or _pick(df.columns, _ID_NAMES, None)
    if id_c is None:
        if df.shape[1] == 1:
            id_c = df.columns[0]
        else:
            raise AttributionError(
                f"leak: no identifier column among {list(df.columns)}; name it IPP or NIR, "
                "or pass id_column="
            )
    lab_c = _pick(df.columns, _LAB_NAMES, lab_column)
    date_c = _pick(df.columns, _DATE_NAMES, date_column)
    ids = df[id_c].astype("string").str.strip()
    keep = (ids.notna() & (ids != "")).to_numpy(dtype=bool)
    empty_lines = line_no[~keep].tolist()
    df, ids, line_no = df[keep], ids[keep], line_no[keep]
    lab = (
        resolve_lab_series(df[lab_c], lab_alias_map(aliases))  # as the evidence's (QA 13)
        if lab_c is not None
        else pd.Series(pd.NA, index=df.index, dtype="string")
    )
    lab = lab.mask(lab == "")
    kind = _id_kind(ids, nir_c == id_c)
    why = _invalid_ids(ids, lab, kind)
    bad = why.notna().to_numpy(dtype=bool)
    invalid = list(zip(line_no[bad].tolist(), why[bad].astype(str).tolist(), strict=True))
    df, ids, lab = df[~bad], ids[~bad], lab[~bad]
    pair = pd.DataFrame({"lab": lab.fillna("\x00"), "id": ids})
    n_dup = int(pair.duplicated().sum())  # rows repeating an earlier (lab, identifier)
    n_ids = len(pair) - n_dup
    if date_c is not None:
        date = _parse_dates(df[date_c], tz)
    else:
        date = pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns, UTC]")
    return _LeakRows(ids, lab, date, kind, len(ids), n_ids, n_dup, empty_lines, invalid)


def _id_kind(ids: pd.Series, nir_column: bool) -> str:
    """The identifiers' kind (``pseudonym``, ``nir`` or ``ipp``), told from the values
    that do not start like a spreadsheet formula."""
    v = ids[~ids.str.startswith(FORMULA_PREFIXES).fillna(False).to_numpy(dtype=bool)]
    if len(v) and bool(v.str.fullmatch(_PSEUDO_RE.pattern).mean() >= 0.95):
        return "pseudonym"
    if nir_column or _looks_like_nir(v):
        return "nir"
    return "ipp"


def _invalid_ids(ids: pd.Series, lab: pd.Series, kind: str) -> pd.Series:
    """Why each row is set aside (string, missing for a row kept): an identifier starting
    like a spreadsheet formula, or without its kind's shape (:data:`ID_SHAPES`), or a lab
    starting like a formula. Never the value itself."""
    shape, reason = ID_SHAPES[kind]
    v = _normalise_nir(ids) if kind == "nir" else ids
    out = pd.Series(pd.NA, index=ids.index, dtype="string")
    out = out.mask(~v.str.fullmatch(shape).fillna(False).astype(bool), reason)
    out = out.mask(ids.str.startswith(FORMULA_PREFIXES).fillna(False).astype(bool), _FORMULA)
    lab_f = lab.str.startswith(FORMULA_PREFIXES).fillna(False).astype(bool)
    return out.mask(lab_f & out.isna(), "lab " + _FORMULA.replace("not an identifier", "not a lab"))


def _pseudonymise_leak(
    rows: _LeakRows,
    key: CaseKey,
    labs: Iterable[str] | None,
    aliases: Mapping[str, str],
    patient_index: Any,
    index_lab_column: str | None,
) -> pd.DataFrame:
    """The leak's rows keyed with the case key (:func:`read_leak`'s table)."""
    ids, lab, date, kind = rows.ids, rows.lab, rows.date, rows.kind
    if kind != "pseudonym" and key.origin == "random":
        raise AttributionError(
            f"the leak holds raw identifiers ({kind}): pass case_key= (or set "
            "$LABFORENSICS_CASE_KEY), the key the evidence was pseudonymised with; a random "
            "key would match nothing"
        )
    if kind == "pseudonym":
        out = pd.DataFrame(
            {"leak_id": ids, "lab": lab, "patient": ids, "lab_given": lab.notna(), "date": date}
        )
    elif kind == "nir":
        out = _nir_rows(ids, lab, date, key, aliases, patient_index, index_lab_column)
    else:
        out = _ipp_rows(ids, lab, date, key, labs)
    out["id_kind"] = kind
    return _coerce_leak(out)


def _nir_rows(
    ids: pd.Series,
    lab: pd.Series,
    date: pd.Series,
    key: CaseKey,
    aliases: Mapping[str, str],
    patient_index: Any,
    index_lab_column: str | None,
) -> pd.DataFrame:
    """NIRs mapped to patients through the labs' patient indexes (keyed on read)."""
    if patient_index is None:
        raise AttributionError(
            "leak holds NIRs (social security numbers): pass patient_index= (the labs' "
            "IPP;NIR files) to map them to patients"
        )
    index = _read_index(patient_index, key, aliases, index_lab_column)
    nir_h = pseudonymise_nirs(key, _normalise_nir(ids))
    base = pd.DataFrame({"leak_id": nir_h, "lab_leak": lab, "date": date})
    m = base.merge(index, left_on="leak_id", right_on="nir_h", how="left")
    m = m[m["lab_leak"].isna() | m["lab"].isna() | (m["lab_leak"] == m["lab"])]
    out = pd.DataFrame(
        {
            "leak_id": m["leak_id"],
            "lab": m["lab"].fillna(m["lab_leak"]),
            "patient": m["patient"],
            "lab_given": m["lab_leak"].notna(),
            "date": m["date"],
        }
    )
    # a NIR whose lab-given row was filtered out still needs a (never-seen) row
    missing = ~base["leak_id"].isin(out["leak_id"])
    if missing.any():
        extra = base[missing].rename(columns={"lab_leak": "lab"})
        extra = extra.assign(patient=pd.NA, lab_given=extra["lab"].notna())
        out = pd.concat([out, extra[list(out.columns)]], ignore_index=True)
    return out


def _ipp_rows(
    ids: pd.Series,
    lab: pd.Series,
    date: pd.Series,
    key: CaseKey,
    labs: Iterable[str] | None,
) -> pd.DataFrame:
    """IPPs keyed with their lab; a lab-less IPP once per lab of the evidence."""
    with_lab = lab.notna()
    parts = []
    if with_lab.any():
        p = pseudonymise(key, lab[with_lab], ids[with_lab])
        parts.append(
            pd.DataFrame(
                {
                    "leak_id": p,
                    "lab": lab[with_lab],
                    "patient": p,
                    "lab_given": True,
                    "date": date[with_lab],
                }
            )
        )
    if (~with_lab).any():
        if labs is None:
            raise AttributionError(
                "leak holds IPPs without a lab column: pass labs= (the evidence's lab "
                "codes) so each IPP is tried in every lab, or add a lab column"
            )
        lab_list = sorted({str(x) for x in labs})
        nolab = ids[~with_lab]
        lid = pseudonymise(key, pd.Series("*", index=nolab.index), nolab)
        n = len(nolab)
        rep_ids = pd.Series(np.repeat(nolab.to_numpy(dtype=object), len(lab_list)))
        rep_labs = pd.Series(np.tile(np.array(lab_list, dtype=object), n))
        parts.append(
            pd.DataFrame(
                {
                    "leak_id": np.repeat(lid.to_numpy(dtype=object), len(lab_list)),
                    "lab": rep_labs,
                    "patient": pseudonymise(key, rep_labs, rep_ids).to_numpy(dtype=object),
                    "lab_given": False,
                    "date": np.repeat(date[~with_lab].to_numpy(), len(lab_list)),
                }
            )
        )
    out = pd.concat(parts, ignore_index=True)
    return out


def _unknown_labs(leak_rows: pd.DataFrame, labs: Iterable[str] | None) -> dict[str, Any] | None:
    """Identifiers the leak gives a lab absent from the evidence (None when labs unknown)."""
    if labs is None:
        return None
    known = {str(x) for x in labs}
    given = leak_rows[leak_rows["lab_given"].astype(bool) & leak_rows["lab"].notna()]
    unk = given[~given["lab"].astype(str).isin(known)]
    return {
        "identifiers": int(unk["leak_id"].nunique()),
        "labs": sorted(set(unk["lab"].astype(str))),
    }


def _finish_leak_report(
    report: dict[str, Any],
    used: int,
    identifiers: int,
    duplicates: int,
    empty_lines: list[int],
    leak_rows: pd.DataFrame,
    labs: Iterable[str] | None,
    invalid: list[tuple[int, str]] = (),  # type: ignore[assignment]
) -> dict[str, Any]:
    """Complete the leak-reading report (JSON-safe; line numbers and counts, no identifier).

    Keys: ``lines_read`` (physical lines of a file, header and blank lines included;
    None for a table), ``header_line``, ``blank``, ``rows_used`` (rows with an
    identifier), ``identifiers`` (distinct (lab, identifier) pairs), ``duplicates``
    (used rows repeating an earlier pair), ``empty`` (rows without identifier),
    ``malformed`` (field count differs from the header, or bytes its encoding cannot
    read), ``invalid`` (an identifier
    without its kind's shape or starting like a spreadsheet formula, or such a lab:
    :data:`ID_SHAPES`), ``rejected`` (``{"line", "reason"}`` of malformed, empty and
    invalid rows, by line, at most :data:`LEAK_REJECTED_LISTED`), ``rejected_truncated``,
    ``unknown_lab`` (``{"identifiers", "labs"}``: a lab absent from the evidence; None
    when the evidence labs are not known), ``source_file`` (the file's name; None for a
    table). For a file, ``lines_read = header + blank + malformed + empty + invalid +
    rows_used``. Rejected rows are never counted as identifiers.
    """
    rep = dict(report)
    rej = list(rep.get("rejected", []))
    rej += [{"line": int(ln), "reason": "empty identifier"} for ln in empty_lines]
    rej += [{"line": int(ln), "reason": why} for ln, why in invalid]
    rej.sort(key=lambda r: r["line"])
    rep.update(
        {
            "rows_used": int(used),
            "identifiers": int(identifiers),
            "duplicates": int(duplicates),
            "empty": len(empty_lines),
            "invalid": len(invalid),
            "rejected": rej[:LEAK_REJECTED_LISTED],
            "rejected_truncated": len(rej) > LEAK_REJECTED_LISTED,
            "unknown_lab": _unknown_labs(leak_rows, labs),
        }
    )
    return rep


def _parse_dates(s: pd.Series, tz: str) -> pd.Series:
    """ISO 8601 (with or without offset) or French ``dd/mm/yyyy [HH:MM[:SS]]``; naive
    values are local time in ``tz``. Unparseable values become NaT."""
    t = s.astype("string").str.strip()
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns, UTC]")
    iso = t.str.match(r"^\d{4}-\d{2}-\d{2}").fillna(False).to_numpy(dtype=bool)
    for mask, kw in ((iso, {"format": "ISO8601"}), (~iso, {"dayfirst": True, "format": "mixed"})):
        if not mask.any():
            continue
        vals = t[mask]
        aware = vals.str.contains(r"(?:Z|[+-]\d{2}:?\d{2})$", regex=True).fillna(False)
        for is_aware, am in ((True, aware), (False, ~aware)):
            v = vals[am.to_numpy(dtype=bool)]
            if v.empty:
                continue
            d = pd.to_datetime(v, errors="coerce", utc=is_aware, **kw)
            if d.dt.tz is None:
                d = d.dt.tz_localize(tz, ambiguous="NaT", nonexistent="shift_forward")
            out[v.index] = d.dt.tz_convert("UTC").astype("datetime64[ns, UTC]")
    return out


def _empty_leak() -> pd.DataFrame:
    return _coerce_leak(pd.DataFrame({c: [] for c in _LEAK_COLUMNS}))


def _coerce_leak(df: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(
        {
            "leak_id": df["leak_id"].astype("string"),
            "lab": df["lab"].astype("string"),
            "patient": df["patient"].astype("string"),
            "id_kind": df["id_kind"].astype("string"),
            "lab_given": df["lab_given"].astype(bool),
            "date": pd.to_datetime(df["date"], utc=True).astype("datetime64[ns, UTC]"),
        }
    )
    return out.drop_duplicates(ignore_index=True)
