"""LIS CSV fields to events: times (:mod:`._lis_times`), outcomes, labs, code tables, numbers.

Step 4 of :mod:`labforensics.ingest.readers.lis_csv` (see its docstring), shared with the
regex profiles (:mod:`labforensics.ingest.readers.regex_profile`): the vectorised
conversion of a batch's parsed fields into canonical event columns.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..identity import canonical_account
from ..schema import ACCOUNT_KIND_DTYPE, ACTION_DTYPE, OUTCOME_DTYPE, STRING, TS_QUALITY_DTYPE
from . import clock
from ._lis_structure import _cells
from ._lis_times import _NS, _times
from ._numeric_ids import IMPLAUSIBLE_DIGITS, IMPLAUSIBLE_PROBLEM, NIR_PROBLEM, nir_cells
from .profiles import Profile, TimestampSpec
from .registry import FieldProblem, QuarantineRow, ReadContext

# Years outside this span are kept but flagged (a field problem): no LIS ran before 1990.
_PLAUSIBLE_LO_S = int(np.datetime64("1990-01-01T00:00:00", "s").astype(np.int64))
_PLAUSIBLE_HI_S = int(np.datetime64("2101-01-01T00:00:00", "s").astype(np.int64))


def _as_string(col: pa.ChunkedArray | pa.Array) -> pd.Series:
    """Wrap an Arrow string column as a ``string[pyarrow]`` Series (no copy)."""
    if isinstance(col, pa.Array):
        col = pa.chunked_array([col])
    if col.type not in (pa.string(), pa.large_string()):
        col = col.cast(pa.string())
    return pd.Series(pd.arrays.ArrowStringArray(col), dtype=STRING)


def _missing_int(n: int) -> pd.Series:
    return pd.Series(pd.arrays.IntegerArray(np.zeros(n, np.int64), np.ones(n, bool)))


def _const_string(value: str | None, n: int) -> pd.Series:
    return _as_string(pa.repeat(pa.scalar(value, pa.string()), n))


def _dict_map(col: pa.ChunkedArray, func, raw: list | None = None) -> tuple[np.ndarray, list]:
    """Distinct values of a string column -> (codes per row (-1 missing), func(uniques)).

    ``raw``, when given, receives the distinct values as written.
    """
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    enc = col.dictionary_encode()
    idx = enc.indices.to_numpy(zero_copy_only=False)
    if enc.null_count:
        idx = np.where(enc.is_null().to_numpy(zero_copy_only=False), -1, idx)
    uniques = enc.dictionary.to_pylist()
    if raw is not None:
        raw.extend(uniques)
    return np.asarray(idx, dtype=np.int64), [func(u) for u in uniques]


def _take_str(idx: np.ndarray, values: list) -> pa.Array:
    table = pa.array(list(values) + [None], type=pa.string())
    idx = np.where(idx < 0, len(values), idx)
    return table.take(pa.array(idx))


def _upper_codes(col: pa.ChunkedArray, idx: np.ndarray, upper: list, raw: list) -> pd.Series:
    """Codes in upper case; the column itself when it already is (no copy)."""
    if upper == raw:
        return _as_string(col)
    return _as_string(_take_str(idx, upper))


def _parse_numbers(
    col: pa.ChunkedArray,
    grouping: bool,
    lines: np.ndarray,
    fidx: np.ndarray,
    name: str,
    source_col: str,
) -> tuple[pd.Series, list[tuple[int, FieldProblem]]]:
    """Strict non-negative integers; French digit grouping (3-digit groups) allowed,
    blanks around the number and a leading ``+`` too.

    Returns an ``Int64`` Series (missing where empty or invalid) and a
    (file, :class:`FieldProblem`) per invalid value (the event is kept). A cell holding
    a NIR, and a count of 13 to 18 digits, are withheld before the parse
    (:mod:`._numeric_ids`): missing, their digits never in the field problem.
    """
    n = len(col)
    problems: list[tuple[int, FieldProblem]] = []
    present = col.is_valid().to_numpy(zero_copy_only=False)
    if not present.any():
        return _missing_int(n), problems
    # blanks around a count (spaces, tabs, no-break spaces: "  7  ") are padding, and a
    # leading "+" a sign of a non-negative number (QA session 13: "  7  " was read as
    # missing, "too large for a count"); a cell of blanks only is empty
    trimmed = pc.utf8_trim_whitespace(col)
    nonblank = pc.fill_null(pc.greater(pc.utf8_length(trimmed), 0), False)
    present = nonblank.to_numpy(zero_copy_only=False).astype(bool)
    if not present.any():
        return _missing_int(n), problems
    # a NIR in a count (QA session 16): withheld before any parse, never read as a number
    nir = nir_cells(col) & present
    for i in np.flatnonzero(nir):  # the NIR cells only: few
        why = f"{source_col}: {NIR_PROBLEM}"
        problems.append((int(fidx[i]), FieldProblem(int(lines[i]), name, "[NIR]", why)))
    present &= ~nir
    if not present.any():
        return _missing_int(n), problems
    pidx = np.flatnonzero(present)
    sub = pc.replace_substring_regex(trimmed.filter(pa.array(present)), r"^\+(\d)", r"\1")
    if grouping:
        ok = pc.match_substring_regex(sub, r"^(?:\d+|\d{1,3}(?:[ \x{00A0}\x{202F}]\d{3})+)$")
        cleaned = pc.replace_substring_regex(sub, r"[ \x{00A0}\x{202F}]", "")
    else:
        ok = pc.match_substring_regex(sub, r"^\d+$")
        cleaned = sub
    okn = ok.to_numpy(zero_copy_only=False).astype(bool)
    ndig = pc.binary_length(cleaned).to_numpy(zero_copy_only=False)
    # 13+ digits (>= 10**12): shaped like an identifier, above any export (_numeric_ids)
    big = okn & (ndig >= IMPLAUSIBLE_DIGITS) & (ndig <= 18)  # 19+: "too large" below
    for j in np.flatnonzero(big):  # few
        i = pidx[j]
        shown, why = f"<{int(ndig[j])} digits>", f"{source_col}: {IMPLAUSIBLE_PROBLEM}"
        problems.append((int(fidx[i]), FieldProblem(int(lines[i]), name, shown, why)))
    okn &= ~big & (ndig <= 18)  # fits int64
    out_vals = np.zeros(n, dtype=np.int64)
    mask = np.ones(n, dtype=bool)
    if okn.any():
        out_vals[pidx[okn]] = pc.cast(cleaned.filter(pa.array(okn)), pa.int64()).to_numpy()
        mask[pidx[okn]] = False
    bad = np.flatnonzero(~okn & ~big)
    if len(bad):
        raw = _cells(
            col.filter(pa.array(present)), bad
        )  # capped: a field can be megabytes of NULs read as spaces
        for i, v in zip(pidx[bad], raw, strict=True):  # the invalid values only: few
            why = _count_problem(v, source_col, grouping)
            problems.append((int(fidx[i]), FieldProblem(int(lines[i]), name, count_shown(v), why)))
    return pd.Series(pd.arrays.IntegerArray(out_vals, mask)), problems


_GROUPED = re.compile(r"^\d{1,3}(?:[ \u00a0\u202f]\d{3})+$")
#: A run of digits long enough to be keyed as an identifier in a field problem's value.
_LONG_RUN = re.compile(r"\d{5,}")


def count_shown(value: str) -> str:
    """A bad count cell as a field problem shows it: each run of 5 or more digits as its
    length (``<20 digits>``), the rest as written.

    A count is no identifier: its digits are neither keyed (the rule for field-problem
    values of the LIS dialects, :func:`labforensics.privacy.redact_digit_runs`, made a
    20-digit count a pseudonym, as if it were a patient's) nor shown raw (a shifted row
    can put an IPP in the count column). Shorter runs stay (``-5``, ``1.5``, ``12 50``).

    Parameters
    ----------
    value : str
        The cell as read (capped).

    Returns
    -------
    str

    Examples
    --------
    >>> count_shown("99999999999999999999"), count_shown(" -7 "), count_shown("1.23456")
    ('<20 digits>', ' -7 ', '1.<5 digits>')
    """
    return _LONG_RUN.sub(lambda m: f"<{len(m.group(0))} digits>", value)


def _count_problem(value: str, source_col: str, grouping: bool) -> str:
    """Why a count cell is not read, in words (QA session 12: every bad count read "digit
    groups must be 3 digits", an overflow, a sign or a decimal alike)."""
    v = value.strip()
    body = v[1:] if v[:1] == "+" else v
    digits = re.sub(r"[ \u00a0\u202f]", "", body)
    if (
        len(digits) > 18
        and digits.isascii()
        and digits.isdigit()
        and (digits == body or (grouping and _GROUPED.match(body)))
    ):
        return f"{source_col}: too large for a count (more than 18 digits)"
    if digits and digits.isdecimal() and not digits.isascii():
        return f"{source_col}: written with digits other than 0-9 (not read)"
    if re.fullmatch(r"-\s*\d[\d \u00a0\u202f]*", v):
        return f"{source_col}: negative (a count is never below 0)"
    if re.fullmatch(r"[+-]?\d*[.,]\d+(?:[eE][+-]?\d+)?|[+-]?\d+[eE][+-]?\d+", v):
        return f"{source_col}: not a whole number written in digits"
    why = (
        " (digit groups must be 3 digits)"
        if grouping and re.search(r"\d[ \u00a0\u202f]\d", v)
        else ""
    )
    return f"{source_col}: not a non-negative integer{why}"


def _col(table: pa.Table, profile: Profile, canon: str) -> pa.ChunkedArray | None:
    """The source column of a canonical column; a constant (profile: ``"=value"``)
    repeated on every row; None when the profile has neither."""
    src = profile.columns.get(canon)
    if src is None and canon in profile.constants:
        value = pa.scalar(profile.constants[canon], pa.string())
        return pa.chunked_array([pa.repeat(value, table.num_rows)])
    return table.column(src) if src is not None else None


def _outcome_codes(
    table: pa.Table, profile: Profile, bad: np.ndarray, reasons: dict[int, str]
) -> tuple[np.ndarray, np.ndarray]:
    """Outcome code of each row (0 success, 1 failure); an unknown outcome is bad."""
    n = table.num_rows
    succ = set(profile.success_values)
    fail = set(profile.failure_values)
    ocol = _col(table, profile, "outcome")
    if ocol is not None:
        oidx, ovals = _dict_map(
            ocol, lambda u: 0 if u.upper() in succ else (1 if u.upper() in fail else -1)
        )
        ocode = np.asarray(ovals + [-1], dtype=np.int64)[np.where(oidx < 0, len(ovals), oidx)]
        idx = np.flatnonzero((ocode < 0) & ~bad)
        allowed = ", ".join(profile.success_values + profile.failure_values)
        for i, v in zip(idx.tolist(), _cells(ocol, idx), strict=True):
            reasons[i] = f"unknown outcome {v if v is not None else ''!r} (expected {allowed})"
        bad |= ocode < 0
    else:
        ocode = np.zeros(n, dtype=np.int64)
    return ocode, bad


def _implausible_years(
    table: pa.Table, spec: TimestampSpec, secs: np.ndarray, lines: np.ndarray, fidx: np.ndarray
) -> list[tuple[int, FieldProblem]]:
    """A field problem per row whose year is before 1990 or after 2100 (the event is kept)."""
    problems: list[tuple[int, FieldProblem]] = []
    odd_year = (secs < _PLAUSIBLE_LO_S) | (secs >= _PLAUSIBLE_HI_S)
    if odd_year.any():
        ycol, yname = (
            (table.column(spec.column), spec.column)
            if spec.column is not None
            else (table.column(spec.date_column), spec.date_column)
        )
        idx = np.flatnonzero(odd_year)  # rare
        for i, v in zip(idx.tolist(), _cells(ycol, idx), strict=True):
            problems.append(
                (
                    int(fidx[i]),
                    FieldProblem(
                        int(lines[i]),
                        "ts",
                        v,
                        f"{yname}: implausible year (before 1990 or after 2100); event kept",
                    ),
                )
            )
    return problems


def _lab_columns(
    table: pa.Table,
    profile: Profile,
    ctxs: list[ReadContext],
    file_labs: list[str | None],
    fidx: np.ndarray,
    out: dict[str, object],
) -> list[str | None]:
    """Columns ``lab`` and the plain text ones into ``out``; each file's lab (for rotation)."""
    n = table.num_rows
    nf = len(ctxs)
    lab_col = _col(table, profile, "lab")
    if lab_col is None:
        lab_col = pa.chunked_array([pa.nulls(n, pa.string())])
    # a row without a lab takes the lab given by the investigator, else the file name's
    for fills in ([c.lab for c in ctxs], file_labs):
        if lab_col.null_count and any(v is not None for v in fills):
            if len(set(fills)) == 1:
                lab_col = pc.fill_null(lab_col, fills[0])
            else:
                lab_col = pc.coalesce(lab_col, pa.array(fills, pa.string()).take(fidx))
    # the file's lab (for rotation): its one lab, else the lab given or named
    lidx, lvals = _dict_map(lab_col, lambda u: u)
    big = np.iinfo(np.int64).max
    lo = np.full(nf, big, dtype=np.int64)
    hi = np.full(nf, -1, dtype=np.int64)
    has = lidx >= 0
    np.minimum.at(lo, fidx[has], lidx[has])
    np.maximum.at(hi, fidx[has], lidx[has])
    file_lab_out = [
        lvals[int(lo[f])] if lo[f] == hi[f] else (file_labs[f] or ctxs[f].lab) for f in range(nf)
    ]
    out["lab"] = _as_string(lab_col)
    for canon in ("site", "account", "host", "src_ip", "request", "app_session", "message_id"):
        c = _col(table, profile, canon)
        out[canon] = _as_string(c) if c is not None else _const_string(None, n)
    return file_lab_out


def _role_module_kind(
    table: pa.Table, profile: Profile, ctx: ReadContext, out: dict[str, object]
) -> None:
    """Columns ``role``, ``account_kind`` (role's kind, then overrides) and ``module``."""
    n = table.num_rows
    role = _col(table, profile, "role")
    if role is not None:
        rraw: list = []
        ridx, rvals = _dict_map(role, lambda u: u.upper(), rraw)
        out["role"] = _upper_codes(role, ridx, rvals, rraw)
        kcodes = np.asarray(
            [
                list(ACCOUNT_KIND_DTYPE.categories).index(profile.role_kinds.get(r, "unknown"))
                for r in rvals
            ]
            + [3],
            dtype=np.int8,
        )
        kind_codes = kcodes[np.where(ridx < 0, len(rvals), ridx)]
    else:
        out["role"] = _const_string(None, n)
        kind_codes = np.full(n, 3, dtype=np.int8)
    if ctx.account_kinds and _col(table, profile, "account") is not None:
        cats = list(ACCOUNT_KIND_DTYPE.categories)
        fk = {canonical_account(str(k), casefold=True): v for k, v in ctx.account_kinds.items()}

        def _kind(u: str) -> int:  # per distinct account, compared folded (QA session 11)
            v = fk.get(canonical_account(u, casefold=True))
            return cats.index(v) if v in cats else -1

        aidx, avals = _dict_map(_col(table, profile, "account"), _kind)
        over = np.asarray(avals + [-1], dtype=np.int8)[np.where(aidx < 0, len(avals), aidx)]
        kind_codes = np.where(over >= 0, over, kind_codes).astype(np.int8)
    out["account_kind"] = pd.Series(pd.Categorical.from_codes(kind_codes, dtype=ACCOUNT_KIND_DTYPE))
    module = _col(table, profile, "module")
    if module is not None:
        mraw: list = []
        midx, mvals = _dict_map(module, lambda u: u.upper(), mraw)
        out["module"] = _upper_codes(module, midx, mvals, mraw)
    else:
        out["module"] = _const_string(None, n)


def _action_columns(
    table: pa.Table, profile: Profile, ocode: np.ndarray, out: dict[str, object]
) -> dict[str, int]:
    """Columns ``action`` (a failed login made ``login_failed``), ``action_raw``, the DICOM
    codes and ``outcome``; returns the unknown action codes (upper case) and their counts."""
    n = table.num_rows
    acts = list(ACTION_DTYPE.categories)
    action = _col(table, profile, "action")
    uniq_raw: list = []
    aidx, amap = _dict_map(action, lambda u: profile.action_codes.get(u.upper()), uniq_raw)
    codes_u = np.asarray(
        [acts.index(m[0]) if m else acts.index("other") for m in amap] + [acts.index("other")],
        dtype=np.int8,
    )
    act = codes_u[np.where(aidx < 0, len(amap), aidx)]
    login, failed = acts.index("login"), acts.index("login_failed")
    outcome = np.where(ocode == 1, 1, 0).astype(np.int8)
    act = np.where((act == login) & (outcome == 1), failed, act).astype(np.int8)
    outcome = np.where(act == failed, 1, outcome).astype(np.int8)
    out["action"] = pd.Series(pd.Categorical.from_codes(act, dtype=ACTION_DTYPE))
    out["action_raw"] = _as_string(action)
    out["dicom_event_id"] = _as_string(_take_str(aidx, [m[1] if m else None for m in amap]))
    out["dicom_event_type"] = _as_string(_take_str(aidx, [m[2] if m else None for m in amap]))
    out["outcome"] = pd.Series(pd.Categorical.from_codes(outcome, dtype=OUTCOME_DTYPE))
    unknown: dict[str, int] = {}
    if n:
        unk_codes = [i for i, m in enumerate(amap) if m is None]
        cnt = np.bincount(aidx[aidx >= 0], minlength=len(amap)) if len(amap) else np.zeros(0)
        for i in unk_codes:  # codes compare case-insensitively: counted upper-cased
            code = uniq_raw[i].upper()
            unknown[code] = unknown.get(code, 0) + int(cnt[i])
        n_null = int(np.count_nonzero(aidx < 0))
        if n_null:
            unknown[""] = n_null
    return unknown


def _other_columns(
    table: pa.Table,
    profile: Profile,
    ctxs: list[ReadContext],
    fmt_name: str,
    lines: np.ndarray,
    fidx: np.ndarray,
    out: dict[str, object],
    problems: list[tuple[int, FieldProblem]],
) -> None:
    """Numbers (their problems into ``problems``), IPP, detail and the source columns."""
    n = table.num_rows
    nf = len(ctxs)
    ctx = ctxs[0]
    cols = profile.columns
    for canon in ("records", "bytes"):
        c = _col(table, profile, canon)
        if c is None:
            out[canon] = _missing_int(n)
            continue
        s, probs = _parse_numbers(c, profile.digit_grouping, lines, fidx, canon, cols[canon])
        out[canon] = s
        problems.extend(probs)
    ipp = _col(table, profile, "ipp")
    out["_ipp"] = _as_string(ipp) if ipp is not None else _const_string(None, n)
    det = _col(table, profile, "detail")
    out["detail"] = _as_string(det) if det is not None else _const_string(None, n)
    out["source_format"] = _const_string(fmt_name, n)
    if nf == 1:
        out["source_file"] = _const_string(ctx.source_file, n)
    else:
        names = pa.array([c.source_file for c in ctxs], pa.string())
        out["source_file"] = _as_string(names.take(fidx))
    out["source_line"] = pd.Series(
        pd.arrays.IntegerArray(lines.astype(np.int64), np.zeros(n, bool))
    )


def _convert(
    table: pa.Table,
    rec_hash: np.ndarray,
    rec_text,
    lines: np.ndarray,
    fidx: np.ndarray,
    ctxs: list[ReadContext],
    profile: Profile,
    fmt_name: str,
    file_labs: list[str | None],
):
    """Convert the parsed records of one or more files (``fidx``: file of each row)."""
    n = table.num_rows
    ctx = ctxs[0]
    spec = profile.timestamp
    quarantine: list[tuple[int, QuarantineRow]] = []
    bad = np.zeros(n, dtype=bool)
    reasons: dict[int, str] = {}
    # --- time -----------------------------------------------------------------------
    secs, offs, frac, ok, has_off = _times(table, spec, reasons)
    bad |= ~ok
    # --- outcome --------------------------------------------------------------------
    ocode, bad = _outcome_codes(table, profile, bad, reasons)
    for i in sorted(reasons):
        quarantine.append(
            (
                int(fidx[i]),
                QuarantineRow(int(lines[i]), reasons[i], rec_text(int(i))),
            )
        )
    if bad.any():
        keep = ~bad
        table = table.filter(pa.array(keep))
        rec_hash = rec_hash[keep]
        lines, fidx, secs, offs, frac, ok, ocode = (
            lines[keep],
            fidx[keep],
            secs[keep],
            offs[keep],
            frac[keep],
            ok[keep],
            ocode[keep],
        )
    n = table.num_rows
    # --- implausible years: kept, flagged -----------------------------------------------
    problems = _implausible_years(table, spec, secs, lines, fidx)
    # --- UTC ------------------------------------------------------------------------
    if has_off:
        utc = (secs - offs) * _NS + frac
        quality = np.zeros(n, dtype=np.int8)
    else:
        utc, quality = clock.localize_files(secs * _NS + frac, ctx.tz, fidx)
    out: dict[str, object] = {}
    out["ts"] = pd.Series(pd.DatetimeIndex(utc.view("datetime64[ns]")).tz_localize("UTC"))
    out["ts_quality"] = pd.Series(pd.Categorical.from_codes(quality, dtype=TS_QUALITY_DTYPE))
    # --- lab ------------------------------------------------------------------------
    file_lab_out = _lab_columns(table, profile, ctxs, file_labs, fidx, out)
    # --- role, module, account kind; action; numbers and the rest ----------------------
    _role_module_kind(table, profile, ctx, out)
    unknown = _action_columns(table, profile, ocode, out)
    _other_columns(table, profile, ctxs, fmt_name, lines, fidx, out, problems)
    out["_rhash"] = rec_hash
    # arrays, not Series: no index alignment, no copies
    events = pd.DataFrame(
        {k: (v.array if isinstance(v, pd.Series) else v) for k, v in out.items()}, copy=False
    )
    return events, quarantine, problems, unknown, file_lab_out, fidx
