"""Map keyed ids back to what they name, for the data-protection officer only.

A data-protection officer who must notify the patients of a breach (GDPR art. 34)
needs their identities. The report never holds them; this command rebuilds them
from the evidence and the case key, and writes them only to the file the user
names, never inside an investigation output folder::

    labforensics reidentify --case-key case.key --evidence evidence/ \\
        --pseudonyms flagged_patients.csv --out /secure/notify.csv

It re-reads the evidence's raw IPPs and request numbers per lab with the
registered readers, computes their keyed ids (:class:`labforensics.privacy.KeyedIds`:
``P`` for each distinct (lab, IPP), ``R`` for each distinct (lab, request number))
and joins the requested ids. It also re-reads what the investigation keyed in free
text and quarantined rows: each run of 5+ digits of an event's detail or of a
quarantined line (``P`` of (lab, digits), kind ``patient``, ``seen_in`` saying
where), and each field of a quarantined line (``U`` ids, kind ``unplaced_value``,
the field's value in ``value``): a row of the wrong width has no trusted field
positions, so its values were keyed as unplaced values, a site or an account as
well as a patient number, and the officer reads what each one is. ``D`` ids (rows of a leaked dump) are mapped back to
(dump file, line) when the dump files are given (``--dumps``). With the labs'
patient indexes (``--patients``) ``P`` ids get the index file, line, IPP (also for a
patient no event names: QA session 12), name,
birth date, address and phone exactly as the file records them (the normalised
forms the linkage compares are for matching only); with the
leaked dump (``--leak``, files or a folder) ``D`` ids get their dump file and
line, and with both the dump is linked (:func:`labforensics.leak.horizon.link_leak`,
the case's seed) and a linked ``D`` id also gets its patient (``linked_patient``, a
``P`` id). A ``D`` id's cells are always the dump row's own, as recorded, a ``P``
id's the index's (QA session 11: a linked dump row gave the index's cells). ``N`` ids (NIR
hashes) cannot be mapped back from the evidence and are listed as not found.
Nothing of it enters a report.

The key must be the run's: when the pseudonyms file lies in a run folder (or
``run`` names it), the fingerprint of the key given is compared with the
``case_key_fingerprint`` of the run's ``manifest.json`` and a difference is an error
naming both fingerprints (never the key). The CSV is written with
:func:`labforensics.outputs.write_csv`: a text cell starting with ``=``, ``+``,
``-``, ``@``, tab or CR gets a leading ``'``, a phone ``+33612345616`` too
(``'+33612345616``: shared case 009, a signed number in a text column is
neutralised); control characters are shown as escapes (``\\x1b``).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from ._reidentify_nirs import structured_nirs
from ._same_files import case_inputs, manifest_inputs, refuse_input_as_output
from .case import CaseContext
from .custody import open_evidence, sha256_bytes
from .errors import CaseKeyError, EvidenceError, OutputExistsError, ParameterError
from .ingest._common import CUT_MARK
from .ingest._engine import _choose_reader
from .ingest.files import common_root, expand_paths, read_head, relative_name
from .ingest.protection import _lis_profile
from .ingest.registry import ReadContext
from .labcodes import lab_alias_map, resolve_lab_series
from .leak._tables import file_list, read_table
from .leak.dump import read_dump
from .leak.horizon import LINKED, link_leak
from .leak.mapping import ColumnMapping, load_mappings
from .leak.patients import read_patient_index
from .outputs import write_csv
from .privacy import (
    KeyedIds,
    load_case_key,
    normalise_ipp,
    unplaced_values,
)

__all__ = [
    "dump_rows",
    "evidence_ids",
    "evidence_patients",
    "people_ids",
    "reidentify",
    "resolution_hint",
]

#: Person columns written for ``P`` and ``D`` ids (as the index or dump records them).
_PERSON = ("surname", "birth_name", "first_name", "birth_date", "address", "postcode", "city",
           "phone")  # fmt: skip

_KIND = {"P": "patient", "R": "request", "D": "dump_row", "N": "nir", "U": "unplaced_value"}
#: Where an evidence value was seen (``seen_in``), in order of preference.
_SEEN = ("ipp column", "request column", "free text", "quarantined row")
_RUN = re.compile(r"\d{5,}")
#: A keyed id in a pseudonyms file, standing alone or glued to the text the run kept
#: beside it (``IPPP3ab…``: a known IPP glued to ``IPP`` became its id, glued too): a
#: letter and 16 hex digits not inside a longer hex run. A glued ``[PRNDU]`` before
#: the id's letter is not hex, so ``IPPP…`` yields the id; ``xP…0`` (17 hex) is none.
_LISTED_ID = re.compile(r"(?<![0-9a-f])[PRNDU][0-9a-f]{16}(?![0-9a-f])")


def _is_investigation_folder(folder: Path) -> bool:
    return (folder / "manifest.json").exists() or (folder / "findings.json").exists()


def _inside_investigation(path: Path) -> Path | None:
    for parent in Path(path).resolve().parents:
        if _is_investigation_folder(parent):
            return parent
    return None


def _runs_in(lab: pd.Series, text: pd.Series) -> pd.DataFrame:
    """(lab, run) of every run of 5+ digits of free text, once per distinct pair.

    pandas' ``str.extractall`` over the distinct (lab, text) pairs: a superset of the runs
    the investigation keyed (it keeps counts, ticket numbers, file names), which is
    harmless here, where ids are only joined.
    """
    df = pd.DataFrame({"lab": lab, "text": text.astype("string")}).dropna(subset=["text"])
    df = df[df["text"].str.contains(r"\d{5}", regex=True)].drop_duplicates()
    if df.empty:
        return pd.DataFrame({"lab": [], "value": []}, dtype="string")
    runs = df["text"].str.extractall(r"(\d{5,})")[0]
    labs = df["lab"].reindex(runs.index.get_level_values(0))
    return pd.DataFrame({"lab": labs.to_numpy(), "value": runs.to_numpy()}, dtype="string")


def _quarantined_values(
    rows: list[tuple[str | None, str, Any]], labs: set[str]
) -> list[pd.DataFrame]:
    """Digit runs (``patient``) and fields (``unplaced_value``) of quarantined lines.

    ``rows``: (file's lab, text without its cut mark, the profile the file was read
    with or None). The lab the investigation keyed a value with is the file's lab or
    the record's own lab field: each value is listed under every lab of the evidence
    (``labs``), the file's lab and ``""``, so that its id is among them. A field is
    listed with its ``U`` id and, for runs made before ``U`` ids existed (QA session 9),
    with the ``P`` and ``R`` ids such a field was given then (column ``id``).
    """
    pat: list[tuple[str, str]] = []
    unp: list[tuple[str, str]] = []
    for flab, text, prof in rows:
        cand = sorted({*labs, flab or "", ""})
        runs = set(_RUN.findall(text))
        vals: set[str] = set()
        if prof is not None:
            sep = None if prof.kind == "regex" else prof.separator
            vals = {v for *_, v in unplaced_values(text, sep, prof.quote) if v}
        pat += [(lb, v) for v in sorted(runs) for lb in cand]
        unp += [(lb, v) for v in sorted(vals) for lb in cand]
    out = []
    for kind, pairs, how in (("patient", pat, "P"), ("unplaced_value", unp, "U"),
                             ("unplaced_value", unp, "P"), ("unplaced_value", unp, "R")):  # fmt: skip
        if pairs:
            df = pd.DataFrame(pairs, columns=["lab", "value"], dtype="string")
            out.append(df.assign(kind=kind, seen_in="quarantined row", id=how))
    return out


def evidence_ids(
    evidence: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    key,
    *,
    case: CaseContext | None = None,
) -> pd.DataFrame:
    """Every distinct value the evidence reveals that the investigation keyed, with its id.

    Each file is read once with its registered reader, as :func:`labforensics.read_evidence`
    reads it: values stripped of surrounding white space (blank is missing), lab codes
    mapped through ``lab_aliases``, a missing lab read as ``UNKNOWN``. Listed: each
    (lab, IPP) and (lab, request number) of the events' columns; each run of 5+ digits
    of an event's detail and of a quarantined line (the ``P`` id the investigation gave
    it: :func:`labforensics._privacy_text.redact_detail_numbers`,
    :func:`labforensics.privacy.redact_digit_runs`); each field of a quarantined line
    (its ``U`` id: :func:`labforensics.privacy.redact_unplaced_record`), under every lab
    it may have been keyed with.

    Parameters
    ----------
    evidence : path-like or iterable of path-like
        Files, folders or globs, as :func:`labforensics.read_evidence`.
    key : CaseKey
        The case key of the investigation.
    case : CaseContext, optional
        The case's facts: ``tz`` (local times) and ``lab_aliases`` (FINESS -> lab
        code); ``CaseContext()`` when omitted.

    Returns
    -------
    pandas.DataFrame
        ``pseudonym`` (``P``, ``R``, ``U`` or ``N`` id), ``kind`` (``patient``,
        ``request``, ``unplaced_value`` or ``nir``), ``lab``, ``value`` (the raw IPP,
        request number, digits, field or normalised NIR), ``seen_in`` (``ipp column``,
        ``request column``, ``free text``, ``quarantined row`` or ``<column> column``
        for a NIR in a structured column: the first of these where it was seen), all
        ``string``; one
        row per distinct (kind, lab, value), sorted by pseudonym. Holds raw identifiers:
        never write it to a report.
    """
    case = case or CaseContext()
    items = expand_paths(evidence)
    root = common_root([p for p, _ in items])
    aliases = lab_alias_map(case.lab_aliases)
    frames: list[pd.DataFrame] = []
    quarantined: list[tuple[str | None, str, Any]] = []
    for path, _ in items:
        spec = _choose_reader(read_head(path), path.name, None)
        if spec is None:
            continue
        ctx = ReadContext(tz=ZoneInfo(case.tz), source_file=relative_name(path, root),
                          lab_aliases=aliases)  # fmt: skip
        fr = spec.read(path, ctx)
        ev = fr.events
        prof = _lis_profile(spec, None)
        quarantined += [(fr.lab, CUT_MARK.sub("", q.raw), prof) for q in fr.quarantine if q.raw]
        if "lab" not in ev.columns or not len(ev):
            continue
        lab = resolve_lab_series(ev["lab"], aliases).fillna("UNKNOWN")
        for kind, col, seen in (("patient", "_ipp", "ipp column"),
                                ("request", "request", "request column")):  # fmt: skip
            if col in ev.columns:
                sub = pd.DataFrame({"lab": lab, "value": normalise_ipp(ev[col])})
                sub = sub.dropna(subset=["value"]).drop_duplicates()
                frames.append(sub.assign(kind=kind, seen_in=seen, id=kind[0].upper()))
        if "detail" in ev.columns:
            runs = _runs_in(lab, ev["detail"])
            frames.append(runs.assign(kind="patient", seen_in="free text", id="P"))
        # a NIR used as a login, host or site: its N id (QA 14: never resolved before)
        frames.append(structured_nirs(lab, ev).assign(kind="nir", id="N"))
    labs = {str(v) for f in frames for v in f["lab"].dropna().unique()} | set(aliases.values())
    frames += _quarantined_values(quarantined, labs)
    cols = ["pseudonym", "kind", "lab", "value", "seen_in"]
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame({c: [] for c in cols}, dtype="string")
    pairs = pd.concat(frames, ignore_index=True).astype("string")
    pairs["rank"] = pairs["seen_in"].map({s: i for i, s in enumerate(_SEEN)})
    pairs = pairs.sort_values("rank", kind="stable").drop_duplicates(["id", "lab", "value"])
    ids = KeyedIds(key)
    made = pd.Series(pd.NA, index=pairs.index, dtype="string")
    for how, make in (("P", ids.patients), ("R", ids.requests), ("U", ids.unplaced),
                      ("N", lambda _labs, v: ids.nirs(v))):  # fmt: skip
        sel = (pairs["id"] == how).to_numpy()
        if sel.any():
            lb, v = pairs.loc[sel, "lab"].tolist(), pairs.loc[sel, "value"].tolist()
            made[sel] = make(lb, v).to_pylist()
    pairs["pseudonym"] = made
    res = pairs[cols].drop_duplicates("pseudonym").astype("string")  # first by seen_in
    return res.sort_values(["pseudonym", "lab", "value"], kind="stable").reset_index(drop=True)


def evidence_patients(
    evidence: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    key,
    *,
    case: CaseContext | None = None,
) -> pd.DataFrame:
    """Every distinct (lab, IPP) the evidence reveals, with its pseudonym.

    Parameters
    ----------
    evidence : path-like or iterable of path-like
        Files, folders or globs, as :func:`labforensics.read_evidence`.
    key : CaseKey
        The case key of the investigation.
    case : CaseContext, optional
        The case's facts: ``tz`` (local times) and ``lab_aliases`` (FINESS -> lab
        code); ``CaseContext()`` when omitted.

    Returns
    -------
    pandas.DataFrame
        ``pseudonym``, ``lab``, ``ipp`` (str), one row per distinct (lab, IPP),
        sorted by pseudonym. Holds raw identifiers: never write it to a report.
    """
    ids = evidence_ids(evidence, key, case=case)
    pat = ids[ids["seen_in"] == "ipp column"].drop(columns=["kind", "seen_in"])
    return pat.rename(columns={"value": "ipp"}).reset_index(drop=True)


def dump_rows(dumps: Iterable[str | os.PathLike[str]], key) -> pd.DataFrame:
    """The ``D`` id of every line of each leaked dump file.

    Parameters
    ----------
    dumps : iterable of path-like
        Dump files (opened read-only).
    key : CaseKey
        The case key.

    Returns
    -------
    pandas.DataFrame
        ``pseudonym`` (``D`` + 16 hex digits of HMAC(key, "dump" ␟ the file's
        SHA-256 ␟ line): :func:`labforensics.privacy.dump_row_id`), ``dump_file``
        (the path as given), ``line`` (1-based physical line, lines ended by
        ``\n``; Int64).
    """
    ids = KeyedIds(key)
    frames = []
    for path in dumps:
        with open_evidence(Path(path)) as fh:
            data = fh.read()
        n = data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
        lines = list(range(1, n + 1))
        frames.append(
            pd.DataFrame(
                {
                    "pseudonym": ids.dump_rows(sha256_bytes(data), lines).to_pylist(),
                    "dump_file": os.fspath(path),
                    "line": pd.array(lines, dtype="Int64"),
                }
            )
        )
    if not frames:
        return pd.DataFrame({"pseudonym": [], "dump_file": [], "line": pd.array([], dtype="Int64")})
    return pd.concat(frames, ignore_index=True)


def _as_recorded(
    people: pd.DataFrame,
    paths: list[Any],
    extra: tuple[str, ...] = (),
    mappings: tuple[ColumnMapping, ...] = (),
) -> pd.DataFrame:
    """``people`` with :data:`_PERSON` as the files record them (QA session 9, item 3).

    The readers keep comparison forms (upper case, no accents, a birth date as a date,
    ``00/00/1950`` as missing, a phone in E.164 form): right for matching, wrong for a
    notification letter. Each file is read again as a raw table
    (:func:`labforensics.leak._tables.read_table`: cells trimmed, the format's empty marks
    missing) and the cells of each row (``source_file``, ``source_line``) replace those
    forms; a field the file has no column for keeps the reader's value. Each field of
    ``extra`` (``ipp`` for an index) is added as its own column, the cell as the file
    records it (trimmed: the value the row's keyed id was made from), missing where the
    file has no such column. ``mappings``: the case's column mappings (loaded), through
    which the readers read the files (QA session 12: read without them, a mapped file's
    columns were not found, or other columns taken).
    """
    if people.empty:
        return people
    files, root = file_list(paths)
    frames, has = [], {}
    for path in files:
        t = read_table(path, root, mappings)
        raw = {c: t.fields[c].reset_index(drop=True) for c in (*_PERSON, *extra) if c in t.fields}
        has[t.name] = set(raw)
        frames.append(pd.DataFrame({"source_file": t.name, "source_line": t.lines, **raw}))
    raw = pd.concat(frames, ignore_index=True)
    raw = raw.astype({c: "string" for c in raw.columns if c != "source_line"})
    on = ["source_file", "source_line"]
    got = people[on].astype({"source_file": "string", "source_line": "int64"})
    got = got.merge(raw.astype({"source_line": "int64"}), on=on, how="left")
    out = people.copy()
    for c in _PERSON:
        if c in raw.columns:
            from_file = got["source_file"].map({f: c in cs for f, cs in has.items()})
            take = from_file.fillna(False).astype(bool).to_numpy()
            out[c] = out[c].astype("string").mask(take, got[c].to_numpy())
    for c in extra:
        cells = got[c] if c in got.columns else pd.Series(pd.NA, index=got.index)
        out[c] = pd.Series(cells.to_numpy(), index=out.index, dtype="string")
    return out


def people_ids(
    key,
    *,
    case: CaseContext | None = None,
    leak: Iterable[str | os.PathLike[str]] = (),
    patients: Iterable[str | os.PathLike[str]] = (),
) -> pd.DataFrame:
    """``P`` ids of the patient indexes and ``D`` ids of a dump, with the person.

    Parameters
    ----------
    key : CaseKey
    case : CaseContext, optional
        Time zone, lab aliases and seed (the linkage's).
    leak, patients : paths
        The dump and the indexes (files or folders). With both, the dump is linked.

    Returns
    -------
    pandas.DataFrame
        ``pseudonym``, ``lab``, ``ipp`` (a ``P`` id's: the index row's IPP cell, trimmed,
        the value its id was keyed from; a ``D`` id's: that of the patient it is linked
        to, ``unique`` or ``two_labs``, missing when not linked), ``source_file``,
        ``source_line`` (Int64),
        ``linked_patient`` (``D`` ids linked ``unique``/``two_labs``), ``match`` and
        :data:`_PERSON` exactly as the row's own file records them (:func:`_as_recorded`):
        a ``P`` id the index's cells, a ``D`` id the dump row's, linked or not (its
        ``linked_patient``'s cells come with that ``P`` id): raw personal data, never to
        be written inside an investigation folder. ``nir``: a ``D`` id's dump row's NIR
        cell as recorded (missing for a ``P`` id, or a dump without a NIR column).
    """

    leak, patients = list(leak), list(patients)
    # the case's column mappings, as the investigation read these files with them
    given = list(getattr(case, "leak_mappings", ()) or ()) or None
    maps = load_mappings(given)
    cols = ["pseudonym", "lab", "ipp", "source_file", "source_line", "linked_patient", "match",
            *_PERSON, "nir"]  # fmt: skip
    frames = []
    idx = read_patient_index(patients, case, given, case_key=key) if patients else None
    if idx is not None:
        # names as recorded, not compared; the IPP the P id was keyed from (QA session 12)
        idx.people = _as_recorded(idx.people, patients, extra=("ipp",), mappings=maps)
        p = idx.people.rename(columns={"record_id": "pseudonym"})
        frames.append(p.assign(linked_patient=pd.NA, match=pd.NA, nir=pd.NA)[cols])
    if leak:
        if idx is not None:
            ll = link_leak(leak, patients, case=case, case_key=key, mappings=given)
            d = _as_recorded(ll.dump.people, leak, extra=("nir",), mappings=maps)
            d = d.rename(columns={"record_id": "pseudonym"})
            links = ll.links.set_index("row_id")
            d["match"] = d["pseudonym"].map(links["match"])
            linked = d["match"].isin(LINKED)
            d["linked_patient"] = d["pseudonym"].map(links["patient"]).where(linked)
            d["lab"] = d["pseudonym"].map(links["lab"]).where(linked, d["lab"])
            # a D id keeps the dump row's own cells (QA session 11): the index's are the P
            # id's; its IPP is its linked patient's, to look up in the LIS (QA session 12)
            ipp_of = idx.people.drop_duplicates("record_id").set_index("record_id")["ipp"]
            d["ipp"] = d["linked_patient"].map(ipp_of)
        else:
            d = _as_recorded(read_dump(leak, case, given, case_key=key).people, leak,
                             extra=("nir",), mappings=maps)  # fmt: skip
            d = d.rename(columns={"record_id": "pseudonym"})
            d = d.assign(linked_patient=pd.NA, match=pd.NA, ipp=pd.NA)
        frames.append(d[cols])
    if not frames:
        return pd.DataFrame({c: [] for c in cols}, dtype="string")
    out = pd.concat([f.astype({c: "string" for c in cols if c != "source_line"}) for f in frames],
                    ignore_index=True)  # fmt: skip
    out["source_line"] = out["source_line"].astype("Int64")
    return out


def _read_pseudonyms(path: Path) -> pd.Series:
    """The keyed ids listed in ``path`` (any text holding them, alone or glued to the
    text they were found in: :data:`_LISTED_ID`).

    Raises
    ------
    ParameterError
        The file cannot be opened (named as the pseudonyms file), or holds no keyed id.
    """
    try:
        with open_evidence(path) as fh:
            text = fh.read().decode("utf-8-sig", errors="replace")
    except EvidenceError as exc:
        raise ParameterError(
            f"cannot open the pseudonyms file {path}: {exc.__cause__ or exc}"
        ) from None
    found = _LISTED_ID.findall(text)
    if not found:
        raise ParameterError(
            f"{path}: no keyed id (P, R, U, D or N + 16 hex digits) found; give a file listing "
            "them, "
            "for example a column copied from findings.json or events.parquet"
        )
    return pd.Series(sorted(set(found)), dtype="string", name="pseudonym")


def _as_paths(x: Any) -> list[Any]:
    """A path or an iterable of paths, as a list (nothing for None)."""
    if x is None:
        return []
    if isinstance(x, str | os.PathLike):
        return [x]
    return list(x)


def reidentify(
    case_key,
    evidence,
    pseudonyms: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    case: CaseContext | None = None,
    force: bool = False,
    dumps: Iterable[str | os.PathLike[str]] = (),
    leak: Iterable[str | os.PathLike[str]] = (),
    patients: Iterable[str | os.PathLike[str]] = (),
    run: str | os.PathLike[str] | None = None,
) -> pd.DataFrame:
    """Write what each requested keyed id names to ``out`` (one row per id).

    Parameters
    ----------
    case_key : CaseKey, path or hex str
        The investigation's case key (its key file).
    evidence : paths
        The same evidence as the investigation.
    pseudonyms : path
        A text/CSV file holding the keyed ids to resolve (anything matching ``P``,
        ``R``, ``D`` or ``N`` + 16 hex digits as a whole word is taken).
    out : path
        The CSV file to write (UTF-8). Must not lie inside an investigation output
        folder (one holding ``manifest.json`` or ``findings.json``).
    force : bool
        Overwrite ``out`` when it exists.
    dumps : iterable of path-like, optional
        Leaked dump files: their rows' ``D`` ids are mapped back to (file, line).
    leak, patients : iterable of path-like, optional
        The leaked dump and the labs' patient indexes (files or folders): see
        :func:`people_ids`; adds ``source_file``, ``source_line``,
        ``linked_patient``, ``match`` and the person's name, birth date, address and
        phone as recorded.
    run : path, optional
        The run folder the ids come from (its ``manifest.json``); default: the run
        folder holding the pseudonyms file, if it lies in one.

    Returns
    -------
    pandas.DataFrame
        The table written: ``pseudonym``, ``kind`` (``patient``, ``request``,
        ``unplaced_value``, ``dump_row``, ``nir``), ``lab``, ``ipp`` (patients: the
        evidence's, else the index row's when ``patients`` holds the id; dump rows
        linked to a patient, with ``leak`` and ``patients``: that patient's),
        ``request`` (request numbers), ``value`` (a quarantined field keyed as an
        unplaced value), ``nir`` (an ``N`` id's NIR, normalised, when the evidence
        writes it in a structured column: a NIR used as a login, host or site; a ``D``
        id's, with ``leak``: the dump row's NIR cell as recorded),
        ``seen_in`` (where the evidence shows it: :func:`evidence_ids`),
        ``dump_file`` and ``line`` (dump rows: the path given in ``dumps``, else the
        file as the leak's ``source_file`` names it, and its 1-based line), ``found`` (False for an id that no
        evidence row or dump line gives). ``attrs["key_fingerprint"]``
        is the key's fingerprint (:func:`resolution_hint`).

    Raises
    ------
    ParameterError
        When ``out`` lies inside an investigation output folder or inside an input
        folder (evidence, dump, indexes); when ``out`` is an input file (the same path,
        through a link, or a hard link to it), or an input recorded in the run's
        ``manifest.json`` or named by the case file, whatever ``force``; when ``run`` has no
        manifest with a key fingerprint.
    CaseKeyError
        When the key's fingerprint differs from the run's (both are named, never the key).
    OutputExistsError
        When ``out`` exists and ``force`` is False.
    """
    out_p = Path(out).resolve()
    inv = _inside_investigation(out_p)
    if inv is not None:
        raise ParameterError(
            f"refusing to write re-identified patients inside the investigation folder {inv}: "
            "identities must never travel with the report; choose a file elsewhere"
        )
    if out_p.is_dir():
        raise ParameterError(f"--out {out_p} is a folder; name the CSV file to write")
    for src in (*_as_paths(evidence), *_as_paths(dumps), *_as_paths(leak), *_as_paths(patients)):
        root = Path(src).resolve()
        if root.is_dir() and out_p.is_relative_to(root):  # evidence is read-only, and
            raise ParameterError(  # names must not travel with it
                f"refusing to write re-identified patients inside the input folder {root}: "
                "evidence is never written to; choose a file elsewhere"
            )
    # the file read is never the file written, whatever force (QA session 13)
    refuse_input_as_output(Path(out), [
        *(("--evidence", e) for e in _as_paths(evidence)),
        *(("--dumps", d) for d in _as_paths(dumps)), *(("--leak", x) for x in _as_paths(leak)),
        *(("--patients", x) for x in _as_paths(patients)), ("--pseudonyms", pseudonyms),
        ("--case", getattr(case, "path", None)), ("--case-key", getattr(case, "key_file", None)),
        ("--case-key", case_key if isinstance(case_key, str | os.PathLike) else None),
        # nor any input of the case: the run's (its manifest) and the case file's (QA 17)
        *manifest_inputs(Path(run) if run is not None else _inside_investigation(Path(pseudonyms))),
        *case_inputs(case),
    ])  # fmt: skip
    if out_p.exists() and not force:
        raise OutputExistsError(f"{out_p} exists; pass --force to overwrite it")
    key = load_case_key(case_key)
    _check_run_key(key, run, Path(pseudonyms))
    wanted = _read_pseudonyms(Path(pseudonyms))
    ids = evidence_ids(evidence, key, case=case)
    table = pd.DataFrame(
        {
            "pseudonym": ids["pseudonym"],
            "found_kind": ids["kind"],
            "lab": ids["lab"],
            **{c: ids["value"].where(ids["kind"] == k)
               for c, k in (("ipp", "patient"), ("request", "request"),
                            ("value", "unplaced_value"), ("nir", "nir"))},
            "seen_in": ids["seen_in"],
        }
    )  # fmt: skip
    rows = dump_rows(dumps, key)
    res = pd.DataFrame({"pseudonym": wanted})
    res.insert(1, "kind", res["pseudonym"].str[0].map(_KIND).astype("string"))
    res = res.merge(table, on="pseudonym", how="left").merge(rows, on="pseudonym", how="left")
    # a P or R id a field of a wrong-width row had before U ids: its kind is the field's
    res["kind"] = res.pop("found_kind").fillna(res["kind"])
    leak, patients = list(leak), list(patients)
    if leak or patients:
        ppl = people_ids(key, case=case, leak=leak, patients=patients)
        res = res.merge(ppl, on="pseudonym", how="left", suffixes=("", "_person"))
        res["lab"] = res["lab"].fillna(res.pop("lab_person"))
        # a P id no event names: its IPP from the index row (QA session 12: the officer
        # looks the patient up in the LIS by IPP); an event's IPP is the same value
        # a D id linked to a patient: that patient's IPP (people_ids)
        is_pd = res["kind"].isin(["patient", "dump_row"])
        res["ipp"] = res["ipp"].fillna(res.pop("ipp_person").where(is_pd))
        # a D id's NIR: the dump row's cell as recorded (QA session 17: the column was
        # empty, people_ids not carrying it); an N id's stays the evidence's
        is_d = res["kind"].eq("dump_row")
        res["nir"] = res["nir"].fillna(res.pop("nir_person").where(is_d))
        d_row = res["kind"].eq("dump_row") & res["source_line"].notna()
        res["dump_file"] = res["dump_file"].mask(d_row & res["dump_file"].isna(),
                                                  res["source_file"])  # fmt: skip
        res["line"] = res["line"].mask(d_row & res["line"].isna(), res["source_line"])
    res["found"] = res["lab"].notna() | res["line"].notna()
    if leak or patients:
        res["found"] = res["found"] | res["source_line"].notna()
    write_csv(res, out_p)
    try:
        os.chmod(out_p, 0o600)
    except OSError:  # pragma: no cover - some file systems ignore modes
        pass
    res.attrs["key_fingerprint"] = key.fingerprint
    return res


def _check_run_key(key, run: str | os.PathLike[str] | None, pseudonyms: Path) -> None:
    """Refuse a key that is not the run's (QA session 9, item 4).

    The run is ``run``, else the run folder holding ``pseudonyms`` (if any); its
    ``manifest.json`` records ``case_key_fingerprint``. A run folder without one (an
    older run, a hand-made folder) is not checked, unless ``run`` named it.

    Raises
    ------
    CaseKeyError
        The fingerprints differ: the message names both, never the key.
    ParameterError
        ``run`` has no readable manifest with a key fingerprint.
    """
    folder = Path(run) if run is not None else _inside_investigation(pseudonyms)
    if folder is None:
        return
    try:
        fp = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))[
            "case_key_fingerprint"
        ]
    except (OSError, ValueError, KeyError, TypeError):
        fp = None
    if not isinstance(fp, str) or not fp:
        if run is not None:
            raise ParameterError(
                f"--run {folder}: no manifest.json recording a case_key_fingerprint; give the "
                "output folder of the investigation the ids come from"
            )
        return
    if fp != key.fingerprint:
        raise CaseKeyError(
            f"the case key given has fingerprint {key.fingerprint} but the run {folder} was "
            f"made with the key of fingerprint {fp} (its manifest.json): its keyed ids cannot "
            "be resolved with this key; give that run's key file (written beside its output "
            "folder as <folder>.key unless another was named)"
        )


def resolution_hint(res: pd.DataFrame, key_fingerprint: str | None = None) -> str | None:
    """A warning when no id that the evidence could give back was resolved, else None.

    Parameters
    ----------
    res : pandas.DataFrame
        :func:`reidentify`'s table (``kind``, ``found``).
    key_fingerprint : str, optional
        The key's fingerprint (default ``res.attrs["key_fingerprint"]``).

    Returns
    -------
    str or None
        The sentence naming the key's fingerprint (never the key) and what to check,
        when ids other than ``N`` ids were asked and none resolved (an ``N`` id resolves
        only when the evidence writes its NIR in a structured column).
    """
    asked = res["kind"] != "nir"
    if not asked.any() or res.loc[asked, "found"].any():
        return None
    fp = key_fingerprint or res.attrs.get("key_fingerprint") or "unknown"
    return (
        f"none of the {int(asked.sum()):,} keyed id(s) resolved: the case key (fingerprint "
        f"{fp}) or the evidence (and --dumps, --leak, --patients) may not be the run's; "
        "compare the fingerprint with case_key_fingerprint in the run's manifest.json and "
        "give the same evidence as the investigation"
    )
