"""What a linked dump says per lab, and the dump as attribution's leak (issue 13, items 5-6).

:func:`link_leak` reads a dump and the labs' patient indexes, links them
(:func:`labforensics.leak.linkage.link_dump`, decoy linkage on) and returns a
:class:`LeakLinkage`: the per-row links, the ``findings.json`` section
``leak_linkage`` (:func:`summarise`, :mod:`labforensics.leak.people`) and the leaked
(lab, patient) rows attribution consumes (:meth:`LeakLinkage.leak_rows`).

Linked
------
A dump row is *linked* when its ``match`` is ``unique`` or ``two_labs``
(:func:`labforensics.leak.linkage.classify` only gives these at or above the
threshold). A ``two_labs`` row is linked to both labs: its ``lab``/``patient``
and its ``runner_up_lab``/``runner_up_patient`` (the same person's record at
the other lab). Per-lab counts count such a row at each of its two labs, but
its sample date bounds neither lab's copy: the sample was taken at one of the
two labs and the row does not say which (on a generated case, crediting both
put one lab's horizon two weeks after its true copy, from samples of people
also registered at a lab copied later). The leak is counted in linked (lab,
patient) pairs and in persons (:func:`linked_persons`: the pairs ``two_labs``
rows join, in whichever order they name them), never in rows nor best matches.

Horizon (rule)
--------------
Each row linked to lab L alone (``unique``) bounds the copy of L from below by its sample date,
or, for a row without one, by its linked record's registration date
(``created`` of the index); both are the start of that local day in the case
time zone (the readers' dates: a date-only value bounds from the start of its
local day). The registration date is not taken when the row has a sample date
because the linked record may be another record of the person than the one
copied (an identity duplicate, or the person's record at a second lab,
registered after the copy): on generated cases, taking the newer of the two
put the horizon months after the true copy date. The horizon of L is
the ``m``-th newest of these bounds, so at least ``m`` linked rows support it
(``horizon_support`` counts the rows at or after it). With ``n`` rows linked to
L and the decoy-estimated false-match rate ``f`` at the threshold, ``m`` is the
smallest integer ``>= min_support`` (2: one wrong link alone can never set it)
with ``P(X >= m) < alpha`` (``alpha`` = 1 %) for ``X ~ Binomial(n, f)``: the
chance that the ``m`` newest rows are all false links is below ``alpha``. When
fewer than ``m`` rows carry a date the horizon is null. The share of L's
patients registered before the horizon is over the index's patients of L with a
known registration date (``created <= horizon``).

Dump shape
----------
Per file, from the reader's report: the fields in file order (``columns``,
field names, never header text nor a cell), ``encoding``, ``separator``,
``date_formats`` (the kinds of dates the reader met: ``yyyy`` (4-digit years),
``yy`` (2-digit years), ``serial`` (spreadsheet day numbers), ``partial``;
plus the mapping's explicit format when one was given), and ``sorted_by``: the
first of ``sample_date``, ``surname``, ``birth_date``, ``postcode``,
``first_name`` whose non-null values are non-decreasing in line order for at
least :data:`SORT_SHARE` of consecutive pairs (typing errors tolerated), else
null.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.stats import binom

from ..case import DEFAULT_TZ
from ..errors import AttributionError
from ._tables import decode, file_list, sniff_separator
from .decisions import COMPARISON_LEVELS, MATCH_CLASSES
from .dump import read_dump
from .linkage import link_dump
from .mapping import _NAMES, header_key
from .patients import LAB_FROM_NAME, read_patient_index
from .phases import mark_phase, phase_progress
from .reader import read_leak

__all__ = [
    "LINKED",
    "as_leak_rows",
    "LeakLinkage",
    "horizon_m",
    "is_identifier_list",
    "leak_files",
    "leak_rows_from_links",
    "linked_persons",
    "index_sources",
    "link_leak",
    "read_identifier_list",
    "summarise",
]

#: ``match`` classes that count as linked.
LINKED = ("unique", "two_labs")

#: Share of consecutive non-null pairs in order for a file to count as sorted by a field.
SORT_SHARE = 0.95

_SORT_FIELDS = ("sample_date", "surname", "birth_date", "postcode", "first_name")


def horizon_m(n: int, fmr: float | None, *, alpha: float = 0.01, min_support: int = 2) -> int:
    """Rows needed to support a horizon among ``n`` linked rows at false-match rate ``fmr``.

    Parameters
    ----------
    n : int
        Rows linked to the lab.
    fmr : float or None
        Estimated false-match rate at the threshold (None or NaN: taken as 0).
    alpha : float
        Largest accepted chance of ``m`` or more false links.
    min_support : int
        Floor of ``m``.

    Returns
    -------
    int
        The smallest ``m >= min_support`` with ``P(Binomial(n, fmr) >= m) < alpha``
        (``min_support`` when ``n`` is 0).
    """
    f = 0.0 if fmr is None or not np.isfinite(fmr) else float(min(max(fmr, 0.0), 1.0))
    m = max(int(min_support), 1)
    if n <= 0 or f == 0.0:
        return m
    ks = np.arange(m, n + 2)
    ok = binom.sf(ks - 1, n, f) < alpha
    return int(ks[np.argmax(ok)]) if ok.any() else n + 1


# --------------------------------------------------------------------------- list or dump

_ID_HEADERS = {
    "ipp", "patient", "patient_id", "id_patient", "pseudonym", "pseudonyme", "id",
    "nir", "num_secu", "numero_secu", "secu", "ssn", "insee", "numero_securite_sociale",
    "numpatient", "num_patient", "numero_patient",
}  # fmt: skip


_PSEUDO = re.compile(r"P[0-9a-f]{16}")
#: A bare identifier: IPP or NIR (digits, at most one letter in a row: 2A/2B, separators).
_BARE_ID = re.compile(r"(?=.*\d)(?!.*[A-Za-z]{2})[0-9A-Za-z .\-]{1,24}")


def _name_headers() -> set[str]:

    return {header_key(n) for f in ("surname", "birth_name", "first_name") for n in _NAMES[f]}


def is_identifier_list(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a list of leaked identifiers rather than a dump of people.

    A single file whose first non-blank line names an identifier column (IPP,
    pseudonym or NIR) and no name column (surname, birth name, first name), or a
    headerless file of one or two fields per line, is a list (read by
    :func:`labforensics.leak.reader.read_leak`). A folder, or a file with a name
    column, is a dump (read by :func:`labforensics.leak.dump.read_dump`).

    Raises
    ------
    EvidenceError
        The file cannot be decoded (see :func:`labforensics.leak._tables.decode`).
    """

    p = Path(path)
    if not p.is_file():
        return False
    with open(p, "rb") as fh:
        data = fh.read(65536)
    text, _ = decode(data, p, None)
    first = next((ln for ln in text.lstrip("\ufeff").splitlines() if ln.strip()), "")
    if not first:
        return True
    sep = sniff_separator(first)
    fields = [header_key(f.strip().strip('"')) for f in first.split(sep)]
    if set(fields) & _name_headers():
        return False
    if set(fields) & _ID_HEADERS:
        return True
    # headerless: one identifier per line, or lab and identifier; a longer or wordy
    # line (a headerless or fixed-width dump of people) is no list
    cells = [c.strip().strip('"') for c in first.split(sep)]
    ident = cells[-1]
    return len(cells) <= 2 and bool(_PSEUDO.fullmatch(ident) or _BARE_ID.fullmatch(ident))


def leak_files(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Files of dump or index paths (files, folders walked, globs), sorted; [] for none.

    Raises
    ------
    EvidenceError
        A path names no file.
    """

    paths = [str(p) for p in paths]
    return file_list(paths)[0] if paths else []


# --------------------------------------------------------------------------- link


@dataclass(repr=False)
class LeakLinkage:
    """A dump linked to the labs' patient indexes (in memory; raw values inside).

    Attributes
    ----------
    dump : labforensics.leak.dump.Dump
    index : labforensics.leak.patients.PatientIndex
    linkage : labforensics.leak.linkage.Linkage
    summary : dict
        The ``findings.json`` section ``leak_linkage`` (numbers and pseudonyms only).
    """

    dump: Any
    index: Any
    linkage: Any
    summary: dict[str, Any]

    @property
    def links(self) -> pd.DataFrame:
        """``leak_links``: one row per dump row (:data:`~.linkage.LINK_COLUMNS`)."""
        return self.linkage.links

    def leak_rows(self) -> pd.DataFrame:
        """The linked (lab, patient) set in :func:`read_leak`'s columns (see
        :func:`leak_rows_from_links`), with ``attrs["leak_report"]``."""
        return leak_rows_from_links(self.links, self.dump.people, self.summary)

    def __repr__(self) -> str:
        s = self.summary
        return f"LeakLinkage(rows={s.get('rows')}, linked={s.get('rows_linked')})"


def leak_rows_from_links(
    links: pd.DataFrame, dump_people: pd.DataFrame, summary: Mapping[str, Any] | None = None
) -> pd.DataFrame:
    """The leaked (lab, patient) set attribution uses, from a dump's links.

    Parameters
    ----------
    links : pandas.DataFrame
        ``leak_links`` (one row per dump row).
    dump_people : pandas.DataFrame
        The dump's person frame (``record_id``, ``sample_date``).
    summary : mapping, optional
        The ``leak_linkage`` section, stored (numbers only) as the leak report.

    Returns
    -------
    pandas.DataFrame
        :func:`labforensics.leak.reader.read_leak`'s columns, one row per linked
        (lab, patient) pair of :func:`lab_links`: ``leak_id`` (the pair's person,
        :func:`linked_persons`: several samples of one patient are one identifier,
        and the records at two labs that ``two_labs`` rows join, in either order,
        are one identifier), ``lab``, ``patient``, ``id_kind`` (``"linked"``),
        ``lab_given`` (True), ``date`` (the newest sample date of the rows whose
        best match is that pair, datetime64[ns, UTC], NaT when none: a ``two_labs``
        row gives none at its runner-up lab). Sorted by ``leak_id``, ``lab``,
        ``patient``.
    """
    lk = links[links["match"].isin(LINKED) & links["patient"].notna()]
    sd = dump_people.set_index(dump_people["record_id"].astype("string"))["sample_date"]
    date = lk["row_id"].astype("string").map(sd)
    two = lk["match"].eq("two_labs") & lk["runner_up_patient"].notna()
    rows = pd.concat(
        [
            pd.DataFrame({"lab": lk["lab"], "patient": lk["patient"], "date": date}),
            # a two_labs sample belongs to one of its labs, not said which: no date at
            # the runner-up lab
            pd.DataFrame(
                {
                    "lab": lk.loc[two, "runner_up_lab"],
                    "patient": lk.loc[two, "runner_up_patient"],
                    "date": pd.NaT,
                }
            ),
        ],
        ignore_index=True,
    ).astype({"lab": "string", "patient": "string"})
    rows["date"] = pd.to_datetime(rows["date"], utc=True).astype("datetime64[ns, UTC]")
    # one row per linked (lab, patient) pair; its leak_id is its person (linked_persons),
    # not the row's best match (two rows naming one person's two records in opposite
    # order gave the person two identifiers, counted twice)
    out = rows.groupby(["lab", "patient"], sort=False)["date"].max().reset_index()
    per = linked_persons(links).set_index(["lab", "patient"])["person"]
    out["leak_id"] = per.reindex(pd.MultiIndex.from_frame(out[["lab", "patient"]])).to_numpy()
    out = out.sort_values(["leak_id", "lab", "patient"], ignore_index=True)
    out = pd.DataFrame(
        {
            "leak_id": out["leak_id"].astype("string"),
            "lab": out["lab"].astype("string"),
            "patient": out["patient"].astype("string"),
            "id_kind": pd.Series("linked", index=out.index, dtype="string"),
            "lab_given": pd.Series(True, index=out.index, dtype=bool),
            "date": out["date"].astype("datetime64[ns, UTC]"),
        }
    )
    if summary is not None:
        out["date"] = _clip_to_horizons(out, summary)
        out.attrs["leak_report"] = {
            "kind": "dump",
            "rows": summary.get("rows"),
            "rows_linked": summary.get("rows_linked"),
            "threshold": summary.get("threshold"),
            "false_match_rate": summary.get("false_match_rate"),
        }
    return out


def _clip_to_horizons(rows: pd.DataFrame, summary: Mapping[str, Any]) -> pd.Series:
    """Each row's date, no later than its lab's horizon; NaT where the lab has none.

    Attribution bounds a lab's copy from below by the latest date of its leaked
    rows; the horizon (the ``m``-th newest, module docstring) is that bound made
    robust to a few false links or mistyped sample dates.
    """
    horizons = {
        p["lab"]: pd.Timestamp(p["horizon"]) if p.get("horizon") else pd.NaT
        for p in summary.get("per_lab", [])
    }
    # to_datetime(utc=True): a map of NaT only comes out tz-naive (no lab with a horizon)
    h = pd.to_datetime(rows["lab"].map(horizons), utc=True).astype("datetime64[ns, UTC]")
    return rows["date"].where(rows["date"] <= h, h)


def link_leak(
    dump: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    patients: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    case: Any = None,
    case_key: Any = None,
    mappings: Any = None,
    params: Any = None,
    avoid_dirs: Iterable[str | os.PathLike[str]] = (),
    sighted_at: pd.Timestamp | None = None,
    progress: bool = False,
) -> LeakLinkage:
    """Read a dump and the patient indexes, link them and summarise per lab.

    With ``progress`` a bar (stderr) moves at each phase (:data:`~.linkage.PHASES`).

    Parameters
    ----------
    dump : path or paths
        Dump files or folders (:func:`labforensics.leak.dump.read_dump`).
    patients : path or paths
        Patient indexes (``PATIENTS_<LAB>.csv``, else a lab column).
    case : CaseContext, optional
        Time zone, lab aliases, key file and seed.
    case_key : CaseKey or path, optional
        Wins over ``case.key_file``.
    mappings : path, dict or list, optional
        Column mappings for both readers.
    params : LinkageParams, optional
        Linkage parameters (decoy linkage on by default).
    avoid_dirs : paths
        Folders DuckDB's spill folder must not be in (the output folder).
    sighted_at : Timestamp, optional
        First public sighting (UTC), stored in the summary.

    Returns
    -------
    LeakLinkage

    Raises
    ------
    AttributionError
        An index file has no lab (neither ``PATIENTS_<LAB>`` nor a lab column).
    EvidenceError, ProfileError, LinkageError
        From the readers and the linkage.
    """

    with phase_progress(progress):
        mark_phase("read_index")
        idx = read_patient_index(patients, case, mappings, case_key=case_key)
        mark_phase("read_dump")
        dmp = read_dump(dump, case, mappings, case_key=case_key)
        seed = int(getattr(case, "seed", 0) or 0)
        lk = link_dump(idx.people, dmp.people, seed=seed, params=params, avoid_dirs=avoid_dirs)
    summary = summarise(lk, dmp, idx, sighted_at=sighted_at)
    return LeakLinkage(dump=dmp, index=idx, linkage=lk, summary=summary)


def as_leak_rows(leak: Any, patients: Any = None, *, case: Any = None, case_key: Any = None) -> Any:
    """The leak as :func:`labforensics.attribution.attribute` takes it.

    A :class:`LeakLinkage` gives its linked rows (:meth:`LeakLinkage.leak_rows`); a
    dump path (a folder, a list of paths, or a file that is no identifier list) is
    linked to ``patients`` first (:func:`link_leak`); anything else (an identifier
    list, its table, None) is returned as is for :func:`read_leak`.

    Raises
    ------
    AttributionError
        A dump without patient indexes (naming the fix).
    """
    if hasattr(leak, "leak_rows") and callable(leak.leak_rows):
        return leak.leak_rows()
    # paths that exist only: a list of raw identifiers stays a list for read_leak
    many = (
        isinstance(leak, (list, tuple))
        and bool(leak)
        and all(isinstance(x, (str, os.PathLike)) and Path(x).exists() for x in leak)
        and not (len(leak) == 1 and is_identifier_list(leak[0]))
    )
    one = (
        isinstance(leak, (str, os.PathLike))
        and Path(leak).exists()
        and not is_identifier_list(leak)
    )
    if not (many or one):
        return leak
    if patients is None:
        raise AttributionError(
            "the leak is a dump of people (name columns, or a folder): give the labs' patient "
            "indexes (patients=PATH, --patients) to link it, or a list of identifiers"
        )
    return link_leak(leak, patients, case=case, case_key=case_key).leak_rows()


def index_sources(paths: Iterable[str | os.PathLike[str]]) -> Any:
    """Patient index files as :func:`read_leak`'s ``patient_index`` takes them: a
    mapping lab -> file when every file is named ``PATIENTS_<LAB>.<ext>`` (or
    ``patient_index_<LAB>.<ext>``: :data:`~.patients.LAB_FROM_NAME`), else the list of
    files (each then needs a lab column)."""
    files = leak_files(paths)
    labs = [LAB_FROM_NAME.match(f.name) for f in files]
    if files and all(labs):
        return {m["lab"]: f for m, f in zip(labs, files, strict=True)}
    return files


def read_identifier_list(
    leak: str | os.PathLike[str],
    patients: Iterable[str | os.PathLike[str]],
    *,
    case: Any = None,
    case_key: Any = None,
    labs: Iterable[str] | None = None,
) -> pd.DataFrame:
    """An identifier list read by :func:`read_leak` with the patient indexes (for NIRs).

    Parameters
    ----------
    leak : path
        The list (IPP, pseudonym or NIR column).
    patients : paths
        Patient indexes (``PATIENTS_<LAB>.csv``, else a lab column).
    case : CaseContext, optional
        Lab aliases and time zone.
    case_key : CaseKey, optional
    labs : iterable of str, optional
        Lab codes of the evidence (lab-less IPPs).

    Returns
    -------
    pandas.DataFrame
        As :func:`read_leak`.
    """

    return read_leak(
        leak,
        case_key=case_key,
        labs=list(labs) if labs is not None else None,
        lab_aliases=dict(getattr(case, "lab_aliases", {}) or {}),
        patient_index=index_sources(patients),
        tz=getattr(case, "tz", None) or DEFAULT_TZ,
    )


# --------------------------------------------------------------------------- summary


def _iso(ts: Any) -> str | None:
    if ts is None or pd.isna(ts):
        return None
    return pd.Timestamp(ts).tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def _r(x: Any, nd: int = 6) -> float | None:
    if x is None:
        return None
    x = float(x)
    return None if not np.isfinite(x) else round(x, nd)


def lab_links(links: pd.DataFrame) -> pd.DataFrame:
    """One row per (dump row, lab) it is linked to: ``row_id``, ``lab``, ``patient``
    (a ``two_labs`` row appears at both labs)."""
    lk = links[links["match"].isin(LINKED) & links["patient"].notna()]
    a = lk[["row_id", "lab", "patient"]]
    two = lk[lk["match"].eq("two_labs") & lk["runner_up_patient"].notna()]
    b = two[["row_id", "runner_up_lab", "runner_up_patient"]].set_axis(
        ["row_id", "lab", "patient"], axis=1
    )
    out = pd.concat([a, b], ignore_index=True).astype("string")
    return out.sort_values(["lab", "row_id"], ignore_index=True)


def linked_persons(links: pd.DataFrame) -> pd.DataFrame:
    """The person of each linked (lab, patient) pair: the pairs ``two_labs`` rows join.

    Each linked pair of :func:`lab_links` is a node; each ``two_labs`` row joins its
    best match and its runner-up (one person's records at two labs). A person is a
    connected component, whichever order the rows name its records in (two rows
    naming the same two records in opposite order are one person, not two).

    Parameters
    ----------
    links : pandas.DataFrame
        ``leak_links`` (one row per dump row: ``match``, ``lab``, ``patient``,
        ``runner_up_lab``, ``runner_up_patient``).

    Returns
    -------
    pandas.DataFrame
        ``lab``, ``patient``, ``person`` (string: the smallest patient pseudonym of
        the component, so one identifier per person, stable under row order); one
        row per distinct linked (lab, patient), sorted by ``person``, ``lab``,
        ``patient``.
    """
    ll = lab_links(links)
    nodes = ll[["lab", "patient"]].drop_duplicates(ignore_index=True)
    if nodes.empty:
        return nodes.assign(person=nodes["patient"])
    ix = pd.MultiIndex.from_frame(nodes)
    two = links[links["match"].eq("two_labs") & links["patient"].notna()]
    two = two[two["runner_up_patient"].notna()]
    a = ix.get_indexer(
        pd.MultiIndex.from_arrays([two[c].astype("string") for c in ("lab", "patient")])
    )
    b = ix.get_indexer(
        pd.MultiIndex.from_arrays(
            [two[c].astype("string") for c in ("runner_up_lab", "runner_up_patient")]
        )
    )
    ok = (a >= 0) & (b >= 0)
    n = len(nodes)
    graph = coo_matrix((np.ones(int(ok.sum()), dtype=np.int8), (a[ok], b[ok])), shape=(n, n))
    comp = connected_components(graph, directed=False)[1]
    first = nodes["patient"].groupby(comp).transform("min")
    out = nodes.assign(person=first.astype("string"))
    return out.sort_values(["person", "lab", "patient"], ignore_index=True)


def _per_lab(
    links: pd.DataFrame, dump_people: pd.DataFrame, index_people: pd.DataFrame, fmr: float | None
) -> list[dict[str, Any]]:
    ll = lab_links(links)
    sd = dump_people.set_index(dump_people["record_id"].astype("string"))["sample_date"]
    cr = index_people.set_index(index_people["record_id"].astype("string"))["created"]
    # the row's own sample date; the linked record's registration only for a row
    # without one; a two_labs row bounds neither lab (module docstring)
    ll["bound"] = ll["row_id"].map(sd).fillna(ll["patient"].map(cr))
    ll.loc[ll["row_id"].isin(links.loc[links["match"].eq("two_labs"), "row_id"]), "bound"] = pd.NaT
    labs = sorted(set(index_people["lab"].dropna().astype(str)) | set(ll["lab"].dropna()))
    out = []
    for lab in labs:  # one pass per lab
        rows = ll[ll["lab"] == lab]
        pats = index_people[index_people["lab"].astype("string") == lab]
        n = len(rows)
        m = horizon_m(int(rows["bound"].notna().sum()), fmr)
        bounds = np.sort(rows["bound"].dropna().to_numpy(dtype="datetime64[ns]"))[::-1]
        horizon = pd.Timestamp(bounds[m - 1], tz="UTC") if len(bounds) >= m else None
        support = int((bounds >= bounds[m - 1]).sum()) if horizon is not None else 0
        known = int(pats["record_id"].nunique())
        in_dump = int(rows["patient"].nunique())
        created = pats["created"].dropna()
        before = _r((created <= horizon).mean()) if horizon is not None and len(created) else None
        out.append(
            {
                "lab": lab,
                "patients_in_dump": in_dump,
                "rows_linked": int(n),
                "patients_known": known,
                "share_of_patients": _r(in_dump / known) if known else None,
                "share_registered_before_horizon": before,
                "horizon": _iso(horizon),
                "horizon_support": support,
                "horizon_m": int(m),
            }
        )
    return out


def _sorted_by(people: pd.DataFrame) -> str | None:
    p = people.sort_values("source_line", kind="stable")
    for f in _SORT_FIELDS:
        s = p[f].dropna()
        if len(s) < 3 or s.nunique() < 2:
            continue
        v = s.to_numpy()
        share = float(np.mean(v[1:] >= v[:-1]))
        if share >= SORT_SHARE:
            return f
    return None


_DATE_KINDS = {"ok": "yyyy", "two_digit_year": "yy", "serial": "serial", "incomplete": "partial"}


def _files(dump: Any) -> list[dict[str, Any]]:
    people = dump.people
    out = []
    for acc in dump.report.get("files", []):
        name = acc["file"]
        sub = people[people["source_file"].astype(str) == name]
        kinds: set[str] = set()
        for counts in (acc.get("dates") or {}).values():
            kinds |= {_DATE_KINDS.get(k, k) for k, v in counts.items() if v}
        kinds |= {str(v) for v in (acc.get("date_formats") or {}).values() if v}
        out.append(
            {
                "source_file": name,
                "rows": int(acc.get("used", len(sub))),
                "columns": [str(c) for c in acc.get("layout", [])],
                "encoding": acc.get("encoding"),
                "separator": acc.get("separator"),
                "fixed_width": bool(acc.get("fixed_width", False)),
                "date_formats": sorted(kinds),
                "sorted_by": _sorted_by(sub) if len(sub) else None,
            }
        )
    return sorted(out, key=lambda d: d["source_file"])


def _examples(linkage: Any, per_class: int = 2) -> list[dict[str, Any]]:

    lv = linkage.levels
    model = linkage.model
    if lv is None or lv.empty:
        return []
    bf = {
        (str(c), str(lvl)): b
        for c, lvl, b in zip(
            model["comparison"], model["level"], model["bayes_factor"], strict=True
        )
    }
    out = []
    for cls in ("unique", "two_labs", "ambiguous", "household"):
        sub = lv[lv["match"] == cls].sort_values("row_id").head(per_class)
        for rec in sub.itertuples(index=False):
            d = rec._asdict()
            levels = []
            for comp in COMPARISON_LEVELS:
                label = d.get(comp)
                if label is None or pd.isna(label):
                    continue
                b = 1.0 if str(label) == "null" else bf.get((comp, str(label)))
                levels.append(
                    {
                        "comparison": comp,
                        "level": str(label),
                        "log2_bayes_factor": _r(np.log2(b), 4) if b and b > 0 else None,
                    }
                )
            prob = linkage.links.set_index("row_id")["probability"].get(d["row_id"])
            out.append(
                {
                    "row_id": str(d["row_id"]),
                    "lab": None if pd.isna(d["lab"]) else str(d["lab"]),
                    "patient": None if pd.isna(d["patient"]) else str(d["patient"]),
                    "probability": _r(prob),
                    "match_weight": _r(d.get("match_weight"), 4),
                    "match": cls,
                    "levels": levels,
                }
            )
    return out


def _fmr_parts(row: pd.Series) -> dict[str, Any] | None:
    """The false-match rate's parts at the threshold (:mod:`.relative_decoy`, steps 1-6):
    numbers only; None for a table without them."""
    if "fmr_relative" not in row.index:
        return None
    ints = ("decoy_unexposed_rows", "decoy_unexposed_links", "unlinked_exposed",
            "relative_sample", "relative_exposed", "relative_links")  # fmt: skip
    floats = ("fmr_stranger", "fmr_relative", "fmr_high", "stranger_rate", "relative_rate",
              "relative_rate_high", "relative_weight")  # fmt: skip
    return {**{k: int(row[k]) for k in ints}, **{k: _r(row[k]) for k in floats}}


def summarise(
    linkage: Any, dump: Any, index: Any, *, sighted_at: pd.Timestamp | None = None
) -> dict[str, Any]:
    """The ``findings.json`` section ``leak_linkage`` (:mod:`labforensics.leak.people`).

    Parameters
    ----------
    linkage : labforensics.leak.linkage.Linkage
    dump : labforensics.leak.dump.Dump
    index : labforensics.leak.patients.PatientIndex
    sighted_at : Timestamp, optional
        First public sighting (UTC).

    Returns
    -------
    dict
        ``threshold``, ``false_match_rate``, ``false_match_rate_parts`` (the
        stranger and relative parts at the threshold, their weight and rates:
        :mod:`labforensics.leak.relative_decoy`), ``rows``, ``rows_linked``,
        ``by_match`` (every class), ``unlinked`` (``rows``, ``share``,
        ``decoy_share``, ``exceeds_decoy``), ``per_lab`` (sorted by lab; rules
        in the module docstring), ``files``, ``fmr_by_threshold``,
        ``examples``, ``horizon_rule``, ``sighted_at``. Numbers, field names and
        pseudonyms only; deterministic.
    """

    links = linkage.links
    n = len(links)
    counts = links["match"].value_counts()
    by_match = {c: int(counts.get(c, 0)) for c in MATCH_CLASSES}
    linked = by_match["unique"] + by_match["two_labs"]
    fmr_t = linkage.fmr
    fmr = decoy_share = parts = None
    table = []
    if fmr_t is not None and not fmr_t.empty:
        at = fmr_t[np.isclose(fmr_t["threshold"], linkage.threshold)]
        if len(at):
            fmr = _r(at["fmr"].iloc[0])
            decoy_share = _r(at["decoy_rate"].iloc[0])
            parts = _fmr_parts(at.iloc[0])
        table = [
            {
                "threshold": _r(r.threshold),
                "links": int(r.real_links),
                "decoy_links": int(r.decoy_links),
                "fmr": _r(r.fmr),
                "fmr_upper": _r(r.fmr_upper),
                **{
                    k: _r(getattr(r, k, None)) for k in ("fmr_stranger", "fmr_relative", "fmr_high")
                },
            }
            for r in fmr_t.sort_values("threshold").itertuples(index=False)
        ]
    unlinked = n - linked
    share = _r(unlinked / n) if n else None
    return {
        "threshold": _r(linkage.threshold),
        "false_match_rate": fmr,
        "false_match_rate_parts": parts,
        "rows": int(n),
        "rows_linked": int(linked),
        "by_match": by_match,
        "unlinked": {
            "rows": int(unlinked),
            "share": share,
            "decoy_share": decoy_share,
            "exceeds_decoy": (
                bool(share > decoy_share) if share is not None and decoy_share is not None else None
            ),
        },
        "per_lab": _per_lab(links, dump.people, index.people, fmr),
        "files": _files(dump),
        "fmr_by_threshold": table,
        "examples": _examples(linkage),
        "horizon_rule": (
            "m-th newest sample date (registration date of the linked record for a row "
            "without one) over the lab's linked rows; "
            "m = smallest m >= 2 with P(Binomial(rows_linked, false_match_rate) >= m) < 0.01"
        ),
        "sighted_at": _iso(sighted_at),
        "lines": {k: int(v) for k, v in dump.report.get("lines", {}).items()},
    }
