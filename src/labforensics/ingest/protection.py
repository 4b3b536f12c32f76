"""Protection of identifiers: keyed ids of patients and requests, redaction of free text.

Patients (lab, IPP) and request numbers become keyed ids (:class:`privacy.KeyedIds`),
never kept raw in the events. Columns are dictionary-encoded once; trimming, pairing
and hashing are done per distinct value, never per row. Free text (details,
quarantined lines, field-problem values) is redacted: known IPPs and request numbers,
NIR, e-mail, phone, and for the LIS dialects the fields at the profile's positions; a
quarantined record whose fields are out of place (another width than its header's, a
line its regex profile did not read) has every field keyed but those proven harmless
(:func:`harmless_values`), and its reason says so (:data:`UNPLACED_NOTE`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .. import schema
from .._privacy_text import (
    KNOWN_TOKEN,
    NAME_HINT,
    inner_candidates,
    redact_detail_numbers,
    redact_names,
)
from ..labcodes import resolve_lab
from ..privacy import (
    KEYED_ID,
    CaseKey,
    KeyedIds,
    Redactor,
    record_field_spans,
    redact_digit_runs,
    redact_record_field,
    redact_unplaced_record,
    time_value,
)
from ._assemble import _Pool, sort_pool
from ._columns import _chunked, _codes, _from_codes, _pairs_of
from ._common import CUT_MARK, RAW_CAP
from ._engine import Job
from .accounting import FileReport
from .profiles import Profile, load_profile
from .registry import FileRead, ReaderSpec


def _keyed_pairs(
    col: pd.Series, lab_codes: np.ndarray, lab_vals: list, *, python_strip: bool
) -> tuple[np.ndarray, pa.Array, pa.Array]:
    """The distinct (lab, value) pairs of an identifier column, for its keyed ids.

    Values are stripped of surrounding white space (``str.strip`` for IPPs, as their
    pseudonyms always were; Arrow's ``utf8_trim_whitespace`` otherwise, as
    :func:`labforensics.privacy.normalise_ipp`); a blank or missing value, or a
    missing lab, has code -1. Vectorised: Python touches each distinct IPP once and
    no request number.

    Returns
    -------
    codes : numpy.ndarray of int64, one per row
        Index of the row's pair, -1 where none.
    labs, values : pyarrow.StringArray
        The lab and the stripped value of each distinct pair.
    """
    arr = _chunked(col.astype(schema.STRING))
    enc = (arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr).dictionary_encode()
    if python_strip:
        trimmed = pa.array([v.strip() for v in enc.dictionary.to_pylist()], type=pa.string())
    else:
        trimmed = pc.utf8_trim_whitespace(enc.dictionary)
    if pc.all(pc.equal(trimmed, enc.dictionary)).as_py() is not False:  # none trimmed
        vals, tmap = enc.dictionary, np.arange(len(trimmed) + 1, dtype=np.int64)
    else:  # " 12" and "12" are one value
        dist = trimmed.dictionary_encode()
        vals = dist.dictionary
        tmap = np.append(dist.indices.to_numpy(zero_copy_only=False).astype(np.int64), 0)
    tmap[-1] = -1  # missing
    tmap[:-1][pc.equal(vals, "").to_numpy(zero_copy_only=False)[tmap[:-1]]] = -1  # blank
    idx = enc.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    ti = tmap[idx]  # -1 (missing) takes the last slot
    valid = (ti >= 0) & (lab_codes >= 0)
    nv = max(len(vals), 1)
    codes = np.full(len(ti), -1, dtype=np.int64)
    inv, uniq = pd.factorize(lab_codes[valid] * nv + ti[valid])
    codes[valid] = inv
    uniq = np.asarray(uniq, dtype=np.int64)
    labs = pa.array(lab_vals, type=pa.string()).take(pa.array(uniq // nv))
    return codes, labs, vals.take(pa.array(uniq % nv))


def _tokens_known(labs: pa.Array, vals: pa.Array, tokens: set[str]) -> dict[str, set[str]]:
    """Lab -> the values of (lab, value) pairs that occur among the free text's tokens."""
    if not tokens or not len(vals):
        return {}
    hit = pc.is_in(vals, value_set=pa.array(sorted(tokens), type=pa.string()))
    known: dict[str, set[str]] = {}
    for lb, v in zip(labs.filter(hit).to_pylist(), vals.filter(hit).to_pylist(), strict=True):
        known.setdefault(lb, set()).add(v)
    return known


def _lis_profile(spec: ReaderSpec, prof: Profile | None) -> Profile | None:
    """The profile a file was read with (``prof``: the file's own), else None.

    Built-in dialects (``lis_legacy``, ``lis_current``) whether sniffed or chosen;
    a user profile, CSV or regex; None for every other reader.
    """
    if prof is not None:
        return prof
    if spec.name in ("lis_legacy", "lis_current"):
        return load_profile(spec.name[4:])
    return None


#: Added to the reason of a quarantined record whose fields are out of place (a CSV
#: record of another width than its header's, a line its regex profile does not match).
UNPLACED_NOTE = (
    "; field positions unknown: every field shown as a keyed id (U, unplaced value; P or R "
    "for a value the evidence shows as an IPP or request) but blanks, dates, times, codes "
    "and lab codes"
)


def _letters(v: str) -> bool:
    """A value with a letter: a value of digits (and signs) alone is never proven harmless."""
    return any(c.isalpha() for c in v)


def harmless_values(p: Profile, labs: Iterable[str]) -> Callable[[str], bool]:
    """The proof that a field of a quarantined record holds no patient identifier.

    A value is harmless when it is one of the profile's missing-value marks, a valid
    date or time (:func:`labforensics.privacy.time_value`), or, holding a letter,
    exactly (case aside) a code of the profile's tables (action codes, modules, roles,
    outcome values; :data:`labforensics.schema.LIS_ACTION_CODES`,
    :data:`~labforensics.schema.LIS_MODULES`,
    :data:`~labforensics.schema.ROLE_ACCOUNT_KIND` and the profile's own) or one of
    ``labs`` (lab codes and their aliases). Closed vocabularies and times: an IPP, a
    name or a NIR is none of them.
    """
    codes = {str(c).upper() for c in (*schema.LIS_ACTION_CODES, *schema.LIS_MODULES,
             *schema.ROLE_ACCOUNT_KIND, *p.action_codes, *p.role_kinds, *p.success_values,
             *p.failure_values)}  # fmt: skip
    codes = {c for c in codes if _letters(c)}
    lab_set = {str(v) for v in labs if v and _letters(str(v))}
    missing = set(p.missing_values)

    def keep(v: str) -> bool:
        return (
            v in missing or time_value(v) or (_letters(v) and (v.upper() in codes or v in lab_set))
        )

    return keep


def _digit_rule(p: Profile | None) -> bool:
    """Whether quarantined text and field-problem values of a file read with ``p`` get
    :func:`labforensics.privacy.redact_digit_runs`: CSV profiles (the LIS dialects and
    user profiles), and regex profiles that map an IPP or a request column."""
    if p is None:
        return False
    return p.kind == "csv" or any(p.columns.get(c) in p.header for c in ("ipp", "request"))


def _known_ids(redactor: Redactor, lab: str | None) -> Callable[[str], str | None]:
    """The id of a whole value the evidence reveals as an IPP or a request number of
    ``lab`` (the :class:`Redactor`'s ``P`` or ``R`` id), else None."""

    def known(v: str) -> str | None:
        got = redactor.redact(v, lab)
        return got if got != v and got and KEYED_ID.fullmatch(got) else None

    return known


def _redact_quarantined(
    text: str | None,
    redactor: Redactor,
    key: CaseKey,
    p: Profile | None,
    lab: str | None,
    aliases: Mapping[str, str],
    keep: Callable[[str], bool] = lambda v: False,
    labs: frozenset[str] = frozenset(),
    cut: bool = False,
) -> tuple[str | None, bool]:
    """Redact a quarantined raw record (or a field-problem value); and whether its fields
    were out of place.

    Known IPPs, NIR, e-mail and phone by the :class:`Redactor`. For a profile that maps
    an IPP or a request column (``p``; the LIS dialects), first:

    * a CSV record of its header's width: the fields at the IPP and request positions
      (:func:`labforensics.privacy.redact_record_field`);
    * a CSV record of another width, or any quarantined line of a regex profile: no
      field's position can be trusted, so every field but those ``keep`` proves
      harmless (:func:`harmless_values`) becomes its keyed id
      (:func:`labforensics.privacy.redact_unplaced_record`: its ``U`` id, not a
      patient's, since what it is cannot be told). The record's lab (for the ids) is its lab
      field when that is one of ``labs``, else ``lab``. Returns True as second value:
      the caller adds :data:`UNPLACED_NOTE` to the reason. A field whose whole value
      the evidence reveals as an IPP or a request number (an event's) gets that id
      (:func:`_known_ids`): the patient's pseudonym wherever the IPP shifted to.
    * a record its reader cut (:data:`~._common.CUT_MARK` at its end: longer than
      ``RAW_CAP`` characters, or a line over ``MAX_LINE_BYTES``, never read): its width
      is unknown (the kept part may end inside a quoted field, its later separators
      cut), so its kept part is redacted as unplaced whatever its field count (QA
      session 16: an over-long line's account, host, address, name and birth date
      stayed clear). The redacted part is cut again to ``RAW_CAP`` characters (a
      keyed id is 17 characters, longer than a short field), then the reader's mark:
      the quarantine text of a cut record is at most ``RAW_CAP`` characters plus the
      mark (``… [n more characters cut]``, whose count is of the record as read).

    Last, every run of 5+ digits (a partial IPP cut mid-number):
    :func:`labforensics.privacy.redact_digit_runs`.
    """
    header = list(p.header) if p is not None else []
    roles = {header.index(c): kind for c, kind in ((p.columns.get("ipp"), "patient"),
             (p.columns.get("request"), "request")) if c in header} if p else {}  # fmt: skip
    if not text or not roles:  # the digit rule for CSV profiles, as always
        red = redactor.redact(text, lab)
        return (redact_digit_runs(red, key, lab) if red and _digit_rule(p) else red), False
    mark = CUT_MARK.search(text)  # a record capped by its reader: redact what is kept
    if mark is not None:
        kept, _ = _redact_quarantined(text[: mark.start()], redactor, key, p, lab, aliases,
                                      keep, labs, cut=True)  # fmt: skip
        return (kept or "")[:RAW_CAP] + mark.group(0), True
    if p.kind == "regex":  # a line that did not become an event: no field is placed
        text = redact_unplaced_record(text, key, lab, separator=None, quote=p.quote, keep=keep,
                                      known=_known_ids(redactor, lab))  # fmt: skip
        return redact_digit_runs(redactor.redact(text, lab), key, lab), True
    spans = record_field_spans(text, p.separator, p.quote)
    li = header.index(p.columns["lab"]) if p.columns.get("lab") in header else None
    own = ""
    if li is not None and li < len(spans):  # the record's own lab (a FINESS number mapped)
        own = text[spans[li][0] : spans[li][1]].strip().strip(p.quote).strip()
    unplaced = cut or len(spans) != len(header)
    if unplaced:
        r = resolve_lab(own, aliases)
        rec_lab = r if r in labs else lab
        text = redact_unplaced_record(text, key, rec_lab, separator=p.separator, quote=p.quote,
                                      keep=keep, known=_known_ids(redactor, rec_lab))  # fmt: skip
    else:
        rec_lab = resolve_lab(own, aliases) or lab
        for pos, kind in sorted(roles.items(), reverse=True):
            # one field at a time (right to left), with the role of its own column
            text = redact_record_field(text, key, rec_lab, separator=p.separator,
                                       quote=p.quote, ipp_index=pos, kind=kind)  # fmt: skip
    text = redactor.redact(text, rec_lab)
    return redact_digit_runs(text, key, rec_lab), unplaced


_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")


def _redact_reason(reason: str, redactor: Redactor, key: CaseKey, lab: str | None,
                   digits: bool) -> str:  # fmt: skip
    """A quarantine reason with the values it quotes redacted (a field's value: a bad time,
    an unknown outcome): known IPPs and request numbers, NIR, e-mail and phone by the
    :class:`Redactor`, then, with ``digits``, every run of 5+ digits
    (:func:`labforensics.privacy.redact_digit_runs`). Only the quoted values: the
    reason's own numbers (a line, a field count) are never taken for identifiers."""

    def sub(m: re.Match[str]) -> str:
        q, v = m.group(0)[0], m.group(0)[1:-1]
        red = redact_names(redactor.redact(v, lab) or v)
        return q + (redact_digit_runs(red, key, lab) if digits else red) + q

    return _QUOTED.sub(sub, reason)


_EMPTY = pa.array([], type=pa.string())


@dataclass
class _Keyed:
    """Keyed ids under way: per-row codes of the distinct (lab, value) pairs, the pairs,
    and the HMAC jobs computing their ids (a thread, while the pool is sorted)."""

    codes: np.ndarray | None = None
    req_codes: np.ndarray | None = None
    ipp_labs: pa.Array = field(default_factory=lambda: _EMPTY)
    ipp_vals: pa.Array = field(default_factory=lambda: _EMPTY)
    req_labs: pa.Array = field(default_factory=lambda: _EMPTY)
    req_vals: pa.Array = field(default_factory=lambda: _EMPTY)
    hmac_job: Future | None = None
    req_job: Future | None = None


def start_keyed_ids(
    pool: _Pool,
    lab_codes: np.ndarray | None,
    lab_vals: list,
    key: CaseKey,
    hmac_pool: ThreadPoolExecutor,
) -> _Keyed:
    """Find the (lab, IPP) and (lab, request) pairs; their HMACs start on ``hmac_pool``.

    The pairs are found on the pool before the sort and their HMACs computed in a
    thread while the pool is permuted (pyarrow's take releases the GIL); the per-row
    codes are then permuted like the rows. The raw ``_ipp`` and ``request`` columns
    leave the pool.
    """
    keyed = _Keyed()
    ids = KeyedIds(key)
    raw = pool.raw
    if "_ipp" in raw.columns and len(raw):
        keyed.codes, keyed.ipp_labs, keyed.ipp_vals = _keyed_pairs(
            raw["_ipp"], lab_codes, lab_vals, python_strip=True
        )
        raw = pool.raw = raw.drop(columns=["_ipp"])
        keyed.hmac_job = hmac_pool.submit(ids.patients, keyed.ipp_labs, keyed.ipp_vals)
    if "request" in raw.columns and len(raw):
        keyed.req_codes, keyed.req_labs, keyed.req_vals = _keyed_pairs(
            raw["request"], lab_codes, lab_vals, python_strip=False
        )
        raw = pool.raw = raw.drop(columns=["request"])
        keyed.req_job = hmac_pool.submit(ids.requests, keyed.req_labs, keyed.req_vals)
    return keyed


def finish_keyed_ids(pool: _Pool, keyed: _Keyed) -> None:
    """Columns ``patient`` and ``request`` of the (sorted) pool: the keyed ids."""
    if keyed.hmac_job is not None:
        pool.raw["patient"] = _from_codes(keyed.codes, keyed.hmac_job.result())
        keyed.codes = keyed.hmac_job = None
    if keyed.req_job is not None:
        pool.raw["request"] = _from_codes(keyed.req_codes, keyed.req_job.result())
        keyed.req_codes = keyed.req_job = None


def pseudonymise_sorting(
    pool: _Pool, skip: np.ndarray, key: CaseKey
) -> tuple[np.ndarray | None, list, _Keyed]:
    """Keyed ids of patients and requests, computed while the pool is sorted.

    The pool is sorted by :func:`~._assemble.sort_pool` (rotation duplicates
    dropped) while a thread computes the HMACs; columns ``patient`` and ``request``
    then hold the keyed ids.

    Returns
    -------
    lab_codes, lab_vals, keyed
        Per-row codes of the (sorted) pool's ``lab`` column (None when empty) and
        its distinct values; the pairs found (for the redactor).
    """
    lab_codes, lab_vals = (
        _codes(_chunked(pool.raw["lab"].astype(schema.STRING))) if len(pool.raw) else (None, [])
    )
    with ThreadPoolExecutor(max_workers=1) as hmac_pool:
        keyed = start_keyed_ids(pool, lab_codes, lab_vals, key, hmac_pool)
        lab_codes, keyed.codes, keyed.req_codes = sort_pool(
            pool, skip, [lab_codes, keyed.codes, keyed.req_codes]
        )
        finish_keyed_ids(pool, keyed)
    return lab_codes, lab_vals, keyed


def _free_text_redactor(
    key: CaseKey,
    keyed: _Keyed,
    texts: list[str],
    reads: list[tuple[FileRead, FileReport, ReaderSpec]],
) -> Redactor:
    """The :class:`Redactor` of the free text: details (``texts``), quarantined lines and
    field-problem values. Only IPPs and request numbers that occur where the Redactor
    looks (:func:`labforensics._privacy_text.inner_candidates`) can be replaced: it is
    built on those. Drops ``keyed``'s pairs."""
    for fr, _, _ in reads:
        texts += [q.raw for q in fr.quarantine if q.raw]
        texts += [p.value for p in fr.field_problems if p.value]
    tokens: set[str] = set()
    for t in texts:
        tokens.update(KNOWN_TOKEN.findall(t))
    tokens = inner_candidates(tokens)
    known = _tokens_known(keyed.ipp_labs, keyed.ipp_vals, tokens)
    known_req = _tokens_known(keyed.req_labs, keyed.req_vals, tokens)
    keyed.ipp_labs = keyed.ipp_vals = keyed.req_labs = keyed.req_vals = _EMPTY
    return Redactor(key, known, known_req)


def _report_rows(
    reads: list[tuple[FileRead, FileReport, ReaderSpec]],
    jobs: list[Job],
    pool: _Pool,
    redactor: Redactor,
    key: CaseKey,
    aliases: Mapping[str, str],
    lab_notes: list[dict[str, object]],
    lab_vals: Iterable[str] = (),
) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """Quarantine rows and field-problem rows (after ``lab_notes``), their text redacted.

    ``lab_vals``: the labs of the events; with the aliases (both sides) and each file's
    lab, the lab codes a quarantined field may show (:func:`harmless_values`). A
    quarantined record whose fields are out of place has :data:`UNPLACED_NOTE` after
    its reason; the values a reason quotes are redacted (:func:`_redact_reason`).
    """
    qrows: list[dict[str, object]] = []
    fprows: list[dict[str, object]] = list(lab_notes)
    known = {str(v) for v in (*lab_vals, *aliases, *aliases.values()) if v}
    keeps: dict[tuple[str, str | None], Callable[[str], bool]] = {}
    for (fr, frep, spec), f in zip(reads, pool.files, strict=True):
        lp = _lis_profile(spec, jobs[f.job][3].profile)
        flab = frep.lab or jobs[f.job][3].lab
        labs = frozenset(known | ({flab} if flab else set()))
        keep: Callable[[str], bool] = lambda v: False  # noqa: E731
        if lp is not None and fr.quarantine:
            kk = (lp.reader_name, flab)
            keep = keeps[kk] if kk in keeps else keeps.setdefault(kk, harmless_values(lp, labs))
        digits = _digit_rule(lp)
        for q in fr.quarantine:
            raw, unplaced = _redact_quarantined(q.raw, redactor, key, lp, flab, aliases, keep,
                                                labs)  # fmt: skip
            raw = redact_names(raw) if raw else raw
            reason = _redact_reason(q.reason, redactor, key, flab, digits)
            qrows.append(
                {
                    "source_file": frep.source_file,
                    "source_line": q.line,
                    "reason": reason + (UNPLACED_NOTE if unplaced else ""),
                    "raw": raw,
                }
            )
        for p in fr.field_problems:
            red = redactor.redact(p.value, flab)
            fprows.append(
                {
                    "source_file": frep.source_file,
                    "source_line": p.line,
                    "column": p.column,
                    "value": redact_names(redact_digit_runs(red, key, flab) if digits else red),
                    "problem": p.problem,
                }
            )
    return qrows, fprows


def names_and_numbers(texts: list[str], labs: list[str | None], key: CaseKey) -> list[str]:
    """Event details with names after a patient marker and identifier-shaped numbers keyed.

    The rules of :mod:`labforensics._privacy_text` (:func:`~labforensics._privacy_text.
    redact_names`, :func:`~labforensics._privacy_text.redact_detail_numbers`: a run of
    5+ digits standing alone, not a count, becomes the ``P`` id of (lab, digits), the
    same id as :func:`labforensics.privacy.redact_digit_runs` gives in quarantined text).
    ``texts`` are distinct (lab, text) pairs' texts (already redacted by the
    :class:`Redactor`); pyarrow finds, over the whole array, the texts that can hold a
    marker or a run of 5 digits, and only those are scanned in Python. Each (lab, run)
    is hashed once.

    Returns
    -------
    list of str
        ``texts`` with those replaced, same length and order.
    """
    if not texts:
        return texts
    arr = pa.array(texts, type=pa.string())
    hint = pc.or_(pc.match_substring_regex(arr, NAME_HINT), pc.match_substring_regex(arr, r"\d{5}"))
    todo = np.flatnonzero(hint.fill_null(False).to_numpy(zero_copy_only=False))
    if not len(todo):
        return texts
    ids, made = KeyedIds(key), {}
    out = list(texts)
    for i in todo.tolist():
        lab = labs[i] or ""

        def make(run: str, lab: str = lab) -> str:  # P id of (lab, run), as KeyedIds.patients
            k = lab + "\x1f" + run
            got = made.get(k)
            if got is None:
                got = made[k] = "P" + ids.digest_hex(k.encode())[:16]
            return got

        out[i] = redact_detail_numbers(redact_names(out[i]), make)
    return out


def redact_free_text(
    pool: _Pool,
    reads: list[tuple[FileRead, FileReport, ReaderSpec]],
    jobs: list[Job],
    lab_codes: np.ndarray | None,
    lab_vals: list,
    keyed: _Keyed,
    key: CaseKey,
    aliases: Mapping[str, str],
    lab_notes: list[dict[str, object]],
) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """Redact free text: details in place; quarantined lines and field-problem values.

    Returns
    -------
    qrows, fprows
        The quarantine rows and the field-problem rows (``lab_notes`` first).
    """
    raw = pool.raw
    det_codes = None
    det_pairs: list[tuple[str, str]] = []
    if "detail" in raw.columns and len(raw):
        dc, dvals = _codes(_chunked(raw["detail"].astype(schema.STRING)))
        if dvals:
            det_codes, det_pairs = _pairs_of(lab_codes, lab_vals, dc, dvals)
        del dc
    redactor = _free_text_redactor(key, keyed, [t for _, t in det_pairs], reads)
    if det_codes is not None:
        red = [redactor.redact(tx, lb or None) for lb, tx in det_pairs]
        red = names_and_numbers(red, [lb for lb, _ in det_pairs], key)
        if any(r != tx for r, (_, tx) in zip(red, det_pairs, strict=True)):
            raw["detail"] = _from_codes(det_codes, red)  # else: nothing to redact, kept
    return _report_rows(reads, jobs, pool, redactor, key, aliases, lab_notes, lab_vals)
