"""Leak attribution: from leaked identifiers to pathways, hypotheses and a verdict.

Given the event and session tables of the evidence (and, optionally, the anomaly
scores of the detection stage, the leaked patient identifiers and the vendor's
FTP transfer log), :func:`attribute` answers: which logged export or extraction
could have produced the leaked file, by which pathway (account, role, module,
network), at which labs, when, and which of three hypotheses (``vendor``,
``insider``, ``external``) the evidence supports.

Method, in the order the code runs it
-------------------------------------
1. **Leak reconciliation** (:func:`read_leak`). Leaked identifiers (IPPs, NIRs
   mapped through the labs' patient indexes, or pseudonyms already keyed with
   the case key) become keyed pseudonyms of (lab, IPP) on read; raw values are
   never kept. Without a lab column an IPP is tried in every lab of the
   evidence (IPPs are unique per lab only); identifiers matching several labs
   are counted and reported. A leaked identifier is *found* when its pseudonym
   is a patient of the evidence; the others are *never seen* (typically
   patients registered before logging began who never came back).
2. **Exfiltration window per lab** (:func:`_window_one`). A patient's
   first-seen time is the first event naming them in that lab. A leaked patient
   first seen at t means the copy was taken after t; a patient first seen at t
   and absent from a full copy means it was taken before t. Both are proxies:
   patients first seen in the lab's first ``censor_days`` days of evidence are
   *censored* (they predate logging) and left out; old patients keep coming
   back for years (and a migration to a product that logs more brings many
   into view at once), so leaked patients keep appearing after the copy.
   Hence robust versions, on the non-censored patients in first-seen order:

   a. *Horizon.* Binary segmentation of the leaked/not-leaked sequence
      (Bernoulli likelihood, change points kept when their log-likelihood
      ratio exceeds ``cp_penalty x ln n``, the BIC); the horizon is the earliest
      drop of the leaked share whose ratio is at least ``drop_ratio`` of the
      largest drop's. Before it, an *onset test* looks for an earlier start of
      not-leaked patients after a complete prefix (share >= ``full_completeness``
      over >= ``min_prefix`` patients; one-sided binomial test at
      ``bound_alpha`` against the rate ``max(1 - prefix share, leak_noise)``):
      a copy whose drop is masked by a later burst of returning patients.
   b. *Lower bound* ``after``: with ``q`` the leaked share of the
      ``post_sample`` patients after the horizon (returning patients; its
      one-sided Clopper-Pearson upper bound at ``1 - bound_alpha`` is used, as
      it rests on few patients), a run of m leaked patients all after the copy
      has probability q^m; ``after`` is the first-seen time of the m-th leaked
      patient counted back from the horizon, m the smallest with
      q^m < ``bound_alpha``.
   c. ``completeness``: leaked share of all patients first seen up to
      ``after`` (about 1: ``full`` extraction; less: ``filtered``).
   d. *Upper bound* ``before``: the first-seen time of the k-th not-leaked
      patient after ``after``, k the smallest with (1 - p)^k < ``bound_alpha``,
      p the Clopper-Pearson lower bound of the completeness (k = 1 for a full
      extraction seen on enough patients).
   e. Leaked patients first seen after ``before`` are counted
      (``n_late_leaked``), never used as bounds. When the leak carries sample
      dates, ``after`` is raised to the latest one (unless past ``before``).
3. **Candidate sessions**: sessions of each lab with records exported or
   extracted, within ``window_margin_h`` hours of the window (the distance in
   hours is reported), moving at least ``partial_min_share`` of the lab's
   leaked patients found. A candidate *holds* the lab's leak when ``records >=
   (1 - records_tolerance) x leaked_found``. Candidates are ranked by
   ``rank_value = fit x (0.5 + 0.5 x anomaly)`` with ``fit = min(1, records /
   ((1 - records_tolerance) x leaked_found)) / (1 + distance_h / 24)``.
   ``anomaly`` (0 to 1) is, with detection scores, 1 for a flagged session,
   else the smaller of its rank percentile and its pathway's rarity; without
   scores the rarity alone, 1 / (days on which the same lab, account and
   module moved records). So a nightly backup or a monthly billing export that
   falls in the window ranks below a one-off extraction of the same size.
   Pathways moving records on ``routine_days`` days or more are *routine*:
   listed, never credited with a leak (they happen whatever the date of the
   copy; a leak only they could hold is a copy of their output made outside
   the logged software). Each lab's leaked patients are explained by its best
   non-routine holding candidate; failing one, partial candidates are credited
   up to their record counts (earliest first-seen patients first). Each
   candidate carries its evidence rows (``source_file:source_line`` of its
   export/extraction events) and the output files its free text names.
4. **Pathways**: candidates grouped by (hypothesis, account kind, account,
   role, module, network); network from ``lab_networks``/``vendor_networks``
   (``lab``, ``vendor``, ``local``, ``other``, ``unknown`` for host names).
   Per pathway: labs, leaked patients explained and share, first/last, span,
   and a signature line (one account at many labs in a short span; a single
   account at one lab). Without a leak, pathways are ranked by *anomalous
   volume*: patient-equivalents ``min(records, lab's patients) x anomaly``,
   capped per lab, routine pathways counting 0.
5. **Transfers**: every export/extraction whose free text names a file is
   linked (by case-insensitive base name) to the FTP upload of that file at or
   after it (``transfer_skew_h`` of clock skew allowed) and to every later
   download; downloads that are anonymous (mode ``a`` or user ``anonymous``/
   ``ftp``) or come from outside the lab and vendor networks (a host name that
   is not an address cannot be placed and counts as outside) are flagged
   ``external_fetch``, with their addresses.
6. **Hypotheses and verdict** (:data:`VERDICT_RULE`, :data:`STRENGTH_SCALE`).
   A candidate is ``external`` after a burst of >= ``failed_burst`` failed
   logins or from an outside address; else ``vendor`` for a vendor account
   (kind vendor, role EDITEUR) or a vendor address; else ``insider`` (a lab or
   service account from the lab or the server). A hypothesis's share is the
   leaked-and-found patients its candidates explain. Files fetched from outside
   after a vendor extraction are the vendor-negligence + outsider story: they
   are reported as ``share_retrieved_outside`` on the external row and in the
   evidence texts, and do not change who made the copy. Stability: the
   analysis is rerun with each main threshold (``censor_days``,
   ``window_margin_h``, ``records_tolerance``, ``partial_min_share``,
   ``failed_burst``, ``routine_days``, ``min_explained``) halved and doubled;
   agreement is the share of reruns reaching the same verdict. Nothing in the
   analysis is random, so no seeds are varied.

Limits
------
First-seen time is a proxy for creation in the LIS; the bounds are
probabilistic (``bound_alpha``) and widen where patients are few (nights,
weekends, small labs). A lab whose evidence starts after the copy has no lower
bound. Exports rarely list the patients they hold: candidates are matched on
record counts and timing, not identities (``touched_leaked`` counts the leaked
patients a session's own events name, when there are any), so two exports of
similar size in one window cannot be told apart except by anomaly; both are
listed. Record counts are rows, which may be results or requests rather than
patients. A copy made outside the logged software (database dump, backup
theft, a routine job's output) leaves no candidate: the verdict is then
``undetermined`` and names the labs and the gap. Network classes are only as
good as the CIDR lists given. The verdict names who made the copy through the
LIS; who received it is a separate question the transfer log may answer.
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import LabForensicsError, ParameterError, SchemaError
from .privacy import CaseKey, load_case_key, pseudonymise

__all__ = [
    "HYPOTHESES",
    "STRENGTH_SCALE",
    "VERDICT_RULE",
    "Attribution",
    "AttributionParams",
    "attribute",
    "read_leak",
]

#: The three hypotheses, in report order.
HYPOTHESES: tuple[str, ...] = ("vendor", "insider", "external")

#: Strength of a hypothesis from the share ``s`` of leaked-and-found patients it
#: explains and the patient-weighted mean fit ``f`` of its candidates.
STRENGTH_SCALE: str = (
    "none: s = 0; weak: 0 < s < mixed_share or f < 0.5; "
    "moderate: s >= mixed_share and f >= 0.5; strong: s >= dominant_share and f >= 0.8"
)

#: The verdict rule, with the parameter names it uses.
VERDICT_RULE: str = (
    "With a leak: N = distinct leaked identifiers found in the evidence. "
    "If N = 0 -> undetermined. If the union of all pathways explains < min_explained "
    "of N -> undetermined (naming the unexplained labs and the gap). Else if one "
    "hypothesis explains >= dominant_share of N -> that hypothesis. Else if two or "
    "more hypotheses each explain >= mixed_share -> mixed. Else undetermined. "
    "Without a leak -> undetermined (nothing to attribute); pathways are ranked by "
    "the anomalous volume they moved."
)

_NET_PRIORITY = ("other", "vendor", "unknown", "lab", "local")
_PSEUDO_RE = re.compile(r"^P[0-9a-f]{16}$")
_FILE_RE = re.compile(
    r"(?:[a-z][a-z0-9+.-]*://)?[^\s\"';|<>,]+\.(?:csv|txt|zip|gz|7z|xml|json|xlsx?|dat|hpr|hl7|"
    r"sql|dmp|dump|tar|tgz|bak)(?![\w])",
    re.IGNORECASE,
)
_ID_NAMES = ("ipp", "patient", "patient_id", "id_patient", "pseudonym", "pseudonyme", "id")
_NIR_NAMES = ("nir", "num_secu", "numero_secu", "secu", "ssn", "insee", "numero_securite_sociale")
_LAB_NAMES = ("lab", "labo", "code_labo", "laboratoire", "finess", "lab_code")
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


class AttributionError(LabForensicsError, ValueError):
    """An attribution input (leak file, patient index, transfers) cannot be used."""


@dataclass(frozen=True)
class AttributionParams:
    """Parameters of :func:`attribute`, with their units.

    Attributes
    ----------
    censor_days : float, default 7.0
        Days at the start of each lab's evidence whose first-seen patients are
        censored (left out of the ``after`` bound): patients registered before
        logging began show up "first" there.
    window_margin_h : float, default 72.0
        Hours around a lab's window within which a session is still a candidate
        (its distance to the window is reported).
    records_tolerance : float, default 0.05
        A candidate holds a lab's leak when its records are at least
        ``(1 - records_tolerance) x`` the lab's leaked patients found (covers
        patients merged or purged between the copy and the audit).
    partial_min_share : float, default 0.25
        Smallest record count, as a share of the lab's leaked patients found,
        for a session to be a (partial) candidate: routine small exports are
        not candidates.
    bound_alpha : float, default 0.01
        Probability bound for the ``before`` side of the window (see module doc).
    cp_penalty : float, default 1.0
        Change points of the leaked share are kept when their log-likelihood
        ratio exceeds ``cp_penalty x ln(n)`` (n patients): 1.0 is the BIC for
        the two parameters a change point adds (its place and the new share).
    drop_ratio : float, default 0.1
        The copy's horizon is the earliest drop whose log-likelihood ratio is at
        least this share of the largest drop's (earlier small fluctuations of a
        filtered leak are below it; a later larger drop from a change in logging
        does not hide the real one).
    leak_noise : float, default 0.01
        Share of the patients existing at a full copy that its leak may lack
        (merged or deleted records): the floor of the not-leaked rate before a
        copy in the onset test.
    min_prefix : int, default 20
        Patients needed before an onset of not-leaked patients can be declared.
    post_sample : int, default 30
        Patients after the change point over which the leaked share ``q`` of
        returning (or late-audited) patients is measured (lower bound back-off).
    routine_days : int, default 20
        A pathway (lab, account, module) that moved records on at least this many
        distinct days is *routine* (nightly backup, monthly billing over years):
        its sessions are listed but explain no leak, since they happen whatever
        the date of the copy (a leak only they could hold is undetermined: a copy
        of their output was made outside the logged software).
    failed_burst : int, default 5
        Failed logins before a session that make a burst (external sign).
    min_explained : float, default 0.5
        Below this share of leaked-and-found patients explained -> undetermined.
    dominant_share : float, default 0.8
        A hypothesis explaining this share of leaked-and-found patients wins.
    mixed_share : float, default 0.2
        Two hypotheses each explaining this share -> mixed.
    full_completeness : float, default 0.95
        Completeness at or above which an extraction is called ``full``.
    lab_networks : mapping of str to sequence of str, or sequence of str
        CIDR blocks of the labs: one list for all labs, or per lab code. When
        empty, private (RFC 1918 / ULA) addresses count as lab addresses.
    vendor_networks : sequence of str
        CIDR blocks of the vendor (remote maintenance, FTP server side).
    lab_aliases : mapping of str to str
        Lab identifier in a leak or patient index (e.g. FINESS) -> lab code.
    transfer_tz : str, default "Europe/Paris"
        Time zone of the xferlog when a path is given.
    transfer_skew_h : float, default 1.0
        Clock skew allowed between the LIS and the FTP server (hours): a
        transfer that far before an extraction may still be its upload.
    max_listed : int, default 1000
        Most identifiers listed (pseudonyms) in :meth:`Attribution.to_dict`.
    stability : bool, default True
        Rerun with the main thresholds halved and doubled.
    """

    censor_days: float = 7.0
    window_margin_h: float = 72.0
    records_tolerance: float = 0.05
    partial_min_share: float = 0.25
    bound_alpha: float = 0.01
    cp_penalty: float = 1.0
    drop_ratio: float = 0.1
    leak_noise: float = 0.01
    min_prefix: int = 20
    post_sample: int = 30
    routine_days: int = 20
    failed_burst: int = 5
    min_explained: float = 0.5
    dominant_share: float = 0.8
    mixed_share: float = 0.2
    full_completeness: float = 0.95
    lab_networks: Mapping[str, Sequence[str]] | Sequence[str] = ()
    vendor_networks: Sequence[str] = ()
    lab_aliases: Mapping[str, str] = field(default_factory=dict)
    transfer_tz: str = "Europe/Paris"
    transfer_skew_h: float = 1.0
    max_listed: int = 1000
    stability: bool = True

    def __post_init__(self) -> None:
        for name in (
            "censor_days",
            "window_margin_h",
            "records_tolerance",
            "partial_min_share",
            "transfer_skew_h",
        ):
            if getattr(self, name) < 0:
                raise ParameterError(f"AttributionParams.{name} must be >= 0")
        for name in ("bound_alpha", "min_explained", "dominant_share", "mixed_share"):
            v = getattr(self, name)
            if not 0 < v <= 1:
                raise ParameterError(f"AttributionParams.{name} must be in (0, 1], got {v}")
        if self.records_tolerance >= 1:
            raise ParameterError("AttributionParams.records_tolerance must be < 1")


#: Thresholds varied by the stability check: name -> (low, high) clip.
_STABILITY_PARAMS: dict[str, tuple[float, float]] = {
    "censor_days": (0.0, math.inf),
    "window_margin_h": (0.0, math.inf),
    "records_tolerance": (0.0, 0.9),
    "partial_min_share": (0.0, 1.0),
    "failed_burst": (1.0, math.inf),
    "routine_days": (2.0, math.inf),
    "min_explained": (0.01, 1.0),
}


@dataclass
class Attribution:
    """Result of :func:`attribute`. Every table holds pseudonyms only.

    Attributes
    ----------
    verdict : str
        ``vendor``, ``insider``, ``external``, ``mixed`` or ``undetermined``.
    verdict_rule : str
        The rule as applied (:data:`VERDICT_RULE`), with the figures that decided
        it and, for unexplained labs, the gap.
    hypotheses : DataFrame
        One row per hypothesis (``vendor``, ``insider``, ``external``):
        ``share`` (of leaked-and-found patients; of anomalous volume without a
        leak), ``patients_explained``, ``n_labs``, ``labs`` (``" | "``-joined),
        ``n_pathways``, ``pathways``, ``fit`` (patient-weighted mean fit),
        ``strength`` (:data:`STRENGTH_SCALE`), ``share_retrieved_outside``
        (external row: share of leaked patients whose extraction file was
        fetched anonymously or from outside), ``evidence_for``,
        ``evidence_against`` (text).
    windows : DataFrame
        One row per lab with leaked patients found: ``lab``, ``n_patients``,
        ``n_leaked``, ``leaked_share``, ``evidence_start``, ``evidence_end``,
        ``censor_until``, ``n_censored``, ``n_censored_leaked``, ``after``,
        ``before`` (UTC; NaT when unbounded), ``width_h``, ``after_leak_dates``,
        ``completeness``, ``extraction`` (``full``/``filtered``),
        ``change_point_llr``, ``support_after`` (m), ``support_before`` (k),
        ``n_late_leaked``, ``post_share`` (q), ``horizon_method``
        (``change_point``/``onset``/``none``), ``confidence``, ``note``.
    candidates : DataFrame
        Sessions that moved records (with a leak: at affected labs, near the
        window, big enough), best first: ``candidate_rank``, ``lab``,
        ``session_id``, ``account``, ``account_kind``, ``role``, ``module`` (of
        its largest export/extraction), ``network``, ``src_ips``, ``start``,
        ``end``, ``records_exported``, ``records_extracted``, ``records``,
        ``n_leaked_lab``, ``capacity`` (records / leaked found), ``holds``,
        ``distance_h`` (hours to the window, 0 inside), ``in_window``, ``fit``,
        ``anomaly``, ``pathway_days``, ``routine``, ``leak_ids_lab`` (leaked
        identifiers the leak gives that lab, found or not), ``size_ratio``
        (records / leak_ids_lab), ``rank_value``, ``touched_leaked``, ``score``,
        ``score_rank``, ``patients_lab``, ``anomalous_volume``,
        ``failed_logins_before``, ``failed_burst``, ``new_source`` (an address
        the account had never used there), ``concurrent_sessions``,
        ``hypothesis``, ``pathway_id``, ``explains`` (leaked patients credited),
        ``output_files``, ``retrieved_outside``, ``fetched_outside_by``,
        ``n_evidence_rows``, ``evidence`` (``source_file:source_line`` list).
    pathways : DataFrame
        ``pathway_id`` (``PW001`` = top), ``hypothesis``, ``account_kind``,
        ``account``, ``role``, ``module``, ``network``, ``n_labs``, ``labs``,
        ``n_sessions``, ``records``, ``leaked_explained``, ``share``, ``first``,
        ``last``, ``span_h``, ``max_score``, ``anomalous_volume``,
        ``volume_share``, ``failed_bursts``, ``labs_retrieved_outside``,
        ``signature``. Ranked by leaked patients explained, then anomalous volume.
    transfers : DataFrame
        One row per (extraction, transfer of its output file): ``session_id``,
        ``lab``, ``account``, ``extraction_ts``, ``extraction_source``,
        ``file_base``, ``transfer_ts``, ``delay_h``, ``direction``,
        ``remote_host``, ``network``, ``access_mode``, ``user``, ``bytes``,
        ``completion``, ``anonymous``, ``outside``, ``external_fetch``,
        ``source_file``, ``source_line`` (of the xferlog line).
    leak_summary : DataFrame
        One row per lab of the evidence or the leak: ``n_patients``,
        ``leaked_found``, ``leaked_share``, ``leaked_multilab``, ``explained``,
        ``unexplained``, ``explained_share``, ``explained_by`` (pathway ids),
        ``window_confidence``.
    never_seen : DataFrame
        Leaked identifiers found in no lab: ``leak_id`` (pseudonym), ``lab`` (if
        the leak gave one), ``id_kind``.
    stability : DataFrame
        One row per rerun: ``param``, ``factor`` (0.5 or 2), ``value``,
        ``verdict``, ``top_hypothesis``, ``top_share``, ``agrees``.
    totals : dict
        Leak totals (identifiers, found, never seen, found in several labs,
        explained) and notes on what was assumed.
    params : AttributionParams
    leak_report : dict or None
        How the leak was read (None without a leak): every line of a leak file used
        or accounted for (blank, malformed, empty identifier, with line numbers and
        reasons), duplicates, and identifiers naming a lab absent from the evidence
        (``unknown_lab``, also counted in ``never_seen``). Counts and line numbers
        only, never an identifier; see :func:`_finish_leak_report`.
    """

    verdict: str
    verdict_rule: str
    hypotheses: pd.DataFrame
    windows: pd.DataFrame
    candidates: pd.DataFrame
    pathways: pd.DataFrame
    transfers: pd.DataFrame
    leak_summary: pd.DataFrame
    never_seen: pd.DataFrame
    stability: pd.DataFrame
    totals: dict[str, Any]
    params: AttributionParams
    leak_report: dict[str, Any] | None = None

    @property
    def stability_agreement(self) -> float:
        """Share of stability reruns that reach the same verdict (1.0 when none ran)."""
        if self.stability.empty:
            return 1.0
        return float(self.stability["agrees"].mean())

    def to_dict(self, ndigits: int = 6) -> dict[str, Any]:
        """A JSON-safe, deterministic summary for ``findings.json``.

        Times are ISO 8601 UTC strings, floats rounded to ``ndigits`` decimals,
        missing values ``None``; serialise with ``json.dumps(..., sort_keys=True)``.
        Holds pseudonyms only, never a raw identifier.
        """
        from .outputs import json_safe

        p = self.params
        params = {
            k: (
                dict(v) if isinstance(v, Mapping) else list(v) if isinstance(v, list | tuple) else v
            )
            for k, v in p.__dict__.items()
        }
        never = self.never_seen.sort_values("leak_id").head(p.max_listed)
        out = {
            "verdict": self.verdict,
            "verdict_rule": self.verdict_rule,
            "rule": VERDICT_RULE,
            "strength_scale": STRENGTH_SCALE,
            "hypotheses": self.hypotheses,
            "windows": self.windows,
            "candidates": self.candidates,
            "pathways": self.pathways,
            "transfers": self.transfers,
            "leak_summary": self.leak_summary,
            "never_seen": {
                "count": len(self.never_seen),
                "listed": never["leak_id"].tolist(),
                "truncated": len(self.never_seen) > p.max_listed,
            },
            "stability": {
                "agreement": self.stability_agreement,
                "runs": self.stability,
                "randomness": "none: every step is deterministic, so no seeds are varied",
            },
            "totals": self.totals,
            "params": params,
            "leak_report": self.leak_report,
        }
        return json_safe(out, ndigits=ndigits)


# --------------------------------------------------------------------------------------
# reading the leak


def _sniff_sep(text: str) -> str:
    first = text.splitlines()[0] if text else ""
    counts = {s: first.count(s) for s in (";", ",", "\t")}
    best = max(counts, key=lambda s: (counts[s], s == ";"))
    return best if counts[best] else ";"


def _read_text(p: Path, what: str) -> str:
    """A small text file's content, UTF-8 (BOM or not) else cp1252.

    Raises
    ------
    AttributionError
        When the file cannot be read (the message names ``what`` and the path).
    """
    try:
        with open(p, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise AttributionError(f"cannot read {what} {p}: {exc}; check the path") from exc
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def _read_table(path: str | os.PathLike[str], what: str) -> pd.DataFrame:
    """Read a small CSV (sep sniffed among ; , tab; UTF-8 or cp1252) as strings."""
    p = Path(path)
    text = _read_text(p, what)
    import io

    sep = _sniff_sep(text)
    try:
        df = pd.read_csv(
            io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, skipinitialspace=True
        )
    except (pd.errors.ParserError, ValueError) as exc:
        raise AttributionError(
            f"{what} {p} is not a CSV with a header (sep {sep!r}): {exc}"
        ) from exc
    df.columns = [str(c).strip() for c in df.columns]
    return df


#: At most this many rejected leak lines are listed (line, reason) in the leak report.
LEAK_REJECTED_LISTED = 200


def _read_leak_lines(path: str | os.PathLike[str]) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read a leak CSV line by line: every physical line is used or accounted for.

    The first non-blank line is the header (separator sniffed among ``;``, ``,`` and
    tab; UTF-8 with or without BOM, else cp1252; ``\r\n`` or ``\n``). A data line
    with another field count than the header is rejected (``malformed``) with its
    line number; blank lines are counted; the others are kept.

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
    import csv

    p = Path(path)
    text = _read_text(p, "leak file")
    text = text.lstrip("\ufeff")
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
    sep = _sniff_sep(lines[h])
    first = [c.strip() for c in next(csv.reader([lines[h]], delimiter=sep))]
    if _is_header(first):
        header, start = first, h + 1
        report["header_line"] = h + 1
    else:
        # a bare list (no header): the first line is data, never silently eaten as a
        # header; one column is the identifier, two are lab and identifier
        header = ["id"] if len(first) == 1 else ["lab", "id"] if len(first) == 2 else None
        if header is None:
            raise AttributionError(
                f"leak file {p}: line {h + 1} is not a header (no column name among "
                f"{sorted(_ID_NAMES + _NIR_NAMES + _LAB_NAMES)}) and has {len(first)} "
                "fields; add a header line"
            )
        start = h
        report["headerless"] = True
    n = len(header)
    rows: list[list[str]] = []
    kept: list[int] = []
    # one line at a time (a quoted field spanning lines is not a leak file shape)
    reader = csv.reader(lines[start:], delimiter=sep, skipinitialspace=True, strict=False)
    for i, row in enumerate(reader, start=start + 1):
        if not row or (len(row) == 1 and not row[0].strip()):
            report["blank"] += 1
            continue
        if len(row) != n:
            report["malformed"] += 1
            report["rejected"].append(
                {"line": i, "reason": f"expected {n} fields (header), saw {len(row)}"}
            )
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


def _is_header(fields: list[str]) -> bool:
    """A leak file's first line is a header when it names a known column, or holds no
    digit at all (identifiers, NIRs and pseudonyms all have digits)."""
    known = {n.lower() for n in _ID_NAMES + _NIR_NAMES + _LAB_NAMES + _DATE_NAMES}
    if any(f.lower() in known for f in fields):
        return True
    return not any(ch.isdigit() for f in fields for ch in f)


def _pick(columns: Iterable[str], names: Sequence[str], given: str | None) -> str | None:
    cols = list(columns)
    if given is not None:
        if given not in cols:
            raise AttributionError(f"column {given!r} not in {cols}")
        return given
    low = {c.lower(): c for c in cols}
    for n in names:
        if n in low:
            return low[n]
    return None


def _normalise_nir(s: pd.Series) -> pd.Series:
    """Upper case, spaces removed, the 2-digit key dropped (13 characters kept)."""
    t = s.astype("string").str.upper().str.replace(r"[\s.\-\u00a0]", "", regex=True)
    return t.where(t.str.len() != 15, t.str.slice(0, 13))


def _looks_like_nir(s: pd.Series) -> bool:
    t = _normalise_nir(s.dropna())
    if t.empty:
        return False
    ok = t.str.fullmatch(r"[1-478]\d{4}(\d{2}|2A|2B)\d{6}")
    return bool(ok.mean() >= 0.9)


def _read_index(
    index: Any,
    key: CaseKey,
    aliases: Mapping[str, str],
    index_lab_column: str | None,
) -> pd.DataFrame:
    """Patient index(es) -> DataFrame ``lab``, ``nir_h``, ``patient`` (raw values dropped)."""
    frames: list[tuple[pd.DataFrame, str | None, str]] = []
    if isinstance(index, pd.DataFrame):
        frames.append((index.astype(str), None, "patient index table"))
    elif isinstance(index, Mapping):
        for lab in sorted(index):
            src = index[lab]
            df = src.astype(str) if isinstance(src, pd.DataFrame) else _read_table(src, "index")
            frames.append((df, str(lab), f"patient index of {lab}"))
    elif isinstance(index, str | os.PathLike):
        frames.append((_read_table(index, "patient index"), None, str(index)))
    else:
        for src in index:
            frames.append((_read_table(src, "patient index"), None, str(src)))
    out = []
    for df, lab, what in frames:
        ipp_c = _pick(df.columns, ("ipp", "patient", "patient_id"), None)
        nir_c = _pick(df.columns, _NIR_NAMES, None)
        if ipp_c is None or nir_c is None:
            raise AttributionError(
                f"{what}: needs an IPP column and a NIR column (got {list(df.columns)}); "
                "name them IPP and NIR"
            )
        if lab is None:
            lab_c = _pick(df.columns, _LAB_NAMES, index_lab_column)
            if lab_c is None:
                raise AttributionError(
                    f"{what}: no lab column; give the index as a mapping lab -> file or add a "
                    "LABO column"
                )
            labs = df[lab_c].astype("string").str.strip()
        else:
            labs = pd.Series(lab, index=df.index, dtype="string")
        labs = labs.replace(aliases).astype("string")
        nir = _normalise_nir(df[nir_c])
        keep = nir.notna() & (nir != "") & df[ipp_c].astype("string").str.strip().ne("")
        nir_h = pseudonymise(key, pd.Series("NIR", index=df.index)[keep], nir[keep])
        patient = pseudonymise(key, labs[keep], df[ipp_c][keep].astype("string"))
        out.append(pd.DataFrame({"lab": labs[keep], "nir_h": nir_h, "patient": patient}))
    if not out:
        return pd.DataFrame({"lab": [], "nir_h": [], "patient": []}, dtype="string")
    return pd.concat(out, ignore_index=True).drop_duplicates(ignore_index=True)


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
    tz: str = "Europe/Paris",
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
    tz : str, default "Europe/Paris"
        Time zone of naive sample dates.

    Returns
    -------
    pandas.DataFrame
        Columns ``leak_id`` (string: the identifier's pseudonym; lab-less IPPs
        are keyed with the lab ``"*"``, NIRs with ``"NIR"``), ``lab`` (string,
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
    aliases = dict(lab_aliases or {})
    report: dict[str, Any] = {
        "lines_read": None,
        "header_line": None,
        "blank": 0,
        "malformed": 0,
        "rejected": [],
    }
    if isinstance(source, pd.DataFrame):
        df = source.copy()
        df.columns = [str(c) for c in df.columns]
    elif isinstance(source, str | os.PathLike):
        df, report = _read_leak_lines(source)
    elif isinstance(source, pd.Series):
        df = pd.DataFrame({"id": source.to_numpy()})
    else:
        df = pd.DataFrame({"id": list(source)})
    if "_line" in df.columns and report["lines_read"] is not None:
        line_no = df.pop("_line").to_numpy(dtype=np.int64)
    else:
        line_no = np.arange(1, len(df) + 1, dtype=np.int64)  # row number of a table
    if df.empty:
        out = _empty_leak()
        out.attrs["leak_report"] = _finish_leak_report(report, 0, 0, 0, [], out, labs)
        return out
    if report.get("headerless") and id_column is None and _looks_like_nir(df["id"]):
        df = df.rename(columns={"id": "nir"})  # a bare list of social security numbers
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
    df, ids = df[keep], ids[keep]
    lab = (
        df[lab_c].astype("string").str.strip().replace(aliases).astype("string")
        if lab_c is not None
        else pd.Series(pd.NA, index=df.index, dtype="string")
    )
    lab = lab.mask(lab == "")
    pair = pd.DataFrame({"lab": lab.fillna("\x00"), "id": ids})
    n_dup = int(pair.duplicated().sum())  # rows repeating an earlier (lab, identifier)
    n_ids = len(pair) - n_dup
    if date_c is not None:
        date = _parse_dates(df[date_c], tz)
    else:
        date = pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns, UTC]")

    if bool(ids.str.fullmatch(_PSEUDO_RE.pattern).mean() >= 0.95):
        kind = "pseudonym"
    elif nir_c == id_c or _looks_like_nir(ids):
        kind = "nir"
    else:
        kind = "ipp"

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
        if patient_index is None:
            raise AttributionError(
                "leak holds NIRs (social security numbers): pass patient_index= (the labs' "
                "IPP;NIR files) to map them to patients"
            )
        index = _read_index(patient_index, key, aliases, index_lab_column)
        nir_h = pseudonymise(key, pd.Series("NIR", index=ids.index), _normalise_nir(ids))
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
    else:
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
    out["id_kind"] = kind
    out = _coerce_leak(out)
    out.attrs["leak_report"] = _finish_leak_report(
        report, int(keep.sum()), n_ids, n_dup, empty_lines, out, labs
    )
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
) -> dict[str, Any]:
    """Complete the leak-reading report (JSON-safe; line numbers and counts, no identifier).

    Keys: ``lines_read`` (physical lines of a file, header and blank lines included;
    None for a table), ``header_line``, ``blank``, ``rows_used`` (rows with an
    identifier), ``identifiers`` (distinct (lab, identifier) pairs), ``duplicates``
    (used rows repeating an earlier pair), ``empty`` (rows without identifier),
    ``malformed`` (field count differs from the header), ``rejected`` (``{"line",
    "reason"}`` of malformed and empty rows, by line, at most
    :data:`LEAK_REJECTED_LISTED`), ``rejected_truncated``, ``unknown_lab``
    (``{"identifiers", "labs"}``: a lab absent from the evidence; None when the
    evidence labs are not known). For a file, ``lines_read = header + blank +
    malformed + empty + rows_used``.
    """
    rep = dict(report)
    rej = list(rep.get("rejected", []))
    rej += [{"line": int(ln), "reason": "empty identifier"} for ln in empty_lines]
    rej.sort(key=lambda r: r["line"])
    rep.update(
        {
            "rows_used": int(used),
            "identifiers": int(identifiers),
            "duplicates": int(duplicates),
            "empty": len(empty_lines),
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


# --------------------------------------------------------------------------------------
# networks


def _parse_nets(cidrs: Iterable[str]) -> list[ipaddress._BaseNetwork]:
    nets = []
    if isinstance(cidrs, str):  # one block given bare
        cidrs = [cidrs]
    for c in cidrs:
        try:
            nets.append(ipaddress.ip_network(str(c).strip(), strict=False))
        except ValueError as exc:
            raise ParameterError(f"network {c!r} is not a CIDR block: {exc}") from exc
    return nets


class _Networks:
    """Classifies addresses: ``local``, ``lab``, ``vendor``, ``other``, ``unknown``."""

    def __init__(self, params: AttributionParams) -> None:
        ln = params.lab_networks
        if isinstance(ln, Mapping):
            self.per_lab = {str(k): _parse_nets(v) for k, v in ln.items()}
            self.all_lab = [n for v in self.per_lab.values() for n in v]
        else:
            self.per_lab = {}
            self.all_lab = _parse_nets(ln)
        self.vendor = _parse_nets(params.vendor_networks)
        self.configured = bool(self.all_lab)
        self._cache: dict[tuple[str, str], str] = {}

    def classify(self, ip: object, lab: str | None = None) -> str:
        if ip is None or ip is pd.NA or (isinstance(ip, float) and math.isnan(ip)):
            return "local"
        s = str(ip).strip()
        ck = (s, lab or "")
        if ck in self._cache:
            return self._cache[ck]
        res = self._classify(s, lab)
        self._cache[ck] = res
        return res

    def _classify(self, s: str, lab: str | None) -> str:
        if s in ("", "-", "localhost"):
            return "local"
        try:
            a = ipaddress.ip_address(s.split("%")[0])
        except ValueError:
            return "unknown"
        if a.is_loopback or a.is_unspecified:
            return "local"
        if any(a in n for n in self.vendor):
            return "vendor"
        nets = self.per_lab.get(lab, self.all_lab) if lab is not None else self.all_lab
        if any(a in n for n in nets):
            return "lab"
        if not self.configured and a.is_private:
            return "lab"
        return "other"

    def session_class(self, ips: Iterable[object], lab: str | None) -> str:
        classes = {self.classify(i, lab) for i in ips} or {"local"}
        for c in _NET_PRIORITY:
            if c in classes:
                return c
        return "local"


# --------------------------------------------------------------------------------------
# preparation (independent of the thresholds)


_EVENT_NEED = ("ts", "lab", "account", "action", "patient", "src_ip", "module", "detail")
_SESSION_NEED = (
    "session_id",
    "lab",
    "account",
    "account_kind",
    "role",
    "start",
    "end",
    "src_ips",
    "records_exported",
    "records_extracted",
    "failed_logins_before",
)


def _check(df: pd.DataFrame, need: Sequence[str], name: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise SchemaError(f"{name} table must be a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise SchemaError(
            f"{name} table lacks columns {missing}; build it with labforensics.read_evidence / "
            "labforensics.sessionize (or schema.coerce_events)"
        )


@dataclass
class _Context:
    events_out: pd.DataFrame  # outbound events with session_id
    sessions: pd.DataFrame
    patients: pd.DataFrame  # lab, patient, first_seen
    lab_span: pd.DataFrame  # lab -> evidence_start, evidence_end
    leak: pd.DataFrame | None  # leak rows
    matches: pd.DataFrame  # leak_id, lab, patient, first_seen, date, n_labs
    never_seen: pd.DataFrame
    links: pd.DataFrame
    scores_n: int
    notes: list[str]
    touched: pd.Series  # session_id -> leaked patients the session's own events name
    leak_ids_by_lab: pd.Series  # lab -> leaked identifiers the leak attributes to it
    nets: _Networks | None = None
    arrays: dict[str, tuple[pd.DataFrame, np.ndarray, np.ndarray]] | None = None  # cache
    leak_report: dict[str, Any] | None = None  # how the leak was read (read_leak)


def _assign_sessions(ev: pd.DataFrame, sessions: pd.DataFrame) -> pd.Series:
    """Session id of each event (by ``session_id`` column or by (lab, account, interval))."""
    if "session_id" in ev.columns:
        return ev["session_id"].astype("string")
    if ev.empty or sessions.empty:
        return pd.Series(pd.NA, index=ev.index, dtype="string")
    left = pd.DataFrame(
        {
            "ts": ev["ts"].astype("datetime64[ns, UTC]").to_numpy(),
            "k": (ev["lab"].astype(str) + "\x1f" + ev["account"].astype(str)).to_numpy(),
            "i": np.arange(len(ev)),
        }
    ).sort_values("ts", kind="stable")
    right = pd.DataFrame(
        {
            "ts": sessions["start"].astype("datetime64[ns, UTC]").to_numpy(),
            "end": sessions["end"].astype("datetime64[ns, UTC]").to_numpy(),
            "k": (
                sessions["lab"].astype(str) + "\x1f" + sessions["account"].astype(str)
            ).to_numpy(),
            "sid": sessions["session_id"].astype(str).to_numpy(),
        }
    ).sort_values("ts", kind="stable")
    m = pd.merge_asof(left, right, on="ts", by="k", direction="backward")
    ok = m["end"].notna() & (m["ts"] <= m["end"])
    sid = m["sid"].where(ok)
    out = np.full(len(ev), None, dtype=object)
    out[m["i"].to_numpy()] = sid.to_numpy(dtype=object)
    return pd.Series(out, index=ev.index, dtype="string")


def _files_in(detail: pd.Series) -> pd.Series:
    """Base names of output files named in free text, joined by ``" | "``."""
    d = detail.fillna("").astype(str)
    codes, uniq = pd.factorize(d)
    res = []
    for text in uniq:
        names = sorted({re.split(r"[/\\]", m)[-1] for m in _FILE_RE.findall(text)})
        res.append(" | ".join(names) if names else None)
    return pd.Series(np.asarray(res, dtype=object)[codes] if len(d) else [], index=d.index)


def _read_transfers_arg(transfers: Any, params: AttributionParams) -> pd.DataFrame | None:
    if transfers is None:
        return None
    if isinstance(transfers, pd.DataFrame):
        df = transfers
    elif hasattr(transfers, "transfers"):
        df = transfers.transfers
    else:
        try:
            from .ingest.xferlog import read_transfers
        except ImportError as exc:
            raise AttributionError(
                f"transfers given as a path ({transfers}) but labforensics.ingest.xferlog is "
                "not available: pass the transfers DataFrame instead"
            ) from exc
        df = read_transfers(transfers, tz=params.transfer_tz).transfers
    need = ("ts", "remote_host", "file_name", "direction", "access_mode", "user")
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise AttributionError(f"transfers table lacks columns {missing}")
    df = df.copy()
    if "file_base" not in df.columns:
        df["file_base"] = df["file_name"].astype(str).str.split(r"[/\\]").str[-1]
    for c in ("bytes", "completion", "source_file", "source_line"):
        if c not in df.columns:
            df[c] = pd.NA
    df["ts"] = pd.to_datetime(df["ts"], utc=True).astype("datetime64[ns, UTC]")
    return df


def _link_transfers(
    outb: pd.DataFrame, tr: pd.DataFrame | None, nets: _Networks, params: AttributionParams
) -> pd.DataFrame:
    cols = [
        "session_id",
        "lab",
        "account",
        "extraction_ts",
        "extraction_source",
        "file_base",
        "transfer_ts",
        "delay_h",
        "direction",
        "remote_host",
        "network",
        "access_mode",
        "user",
        "bytes",
        "completion",
        "anonymous",
        "outside",
        "external_fetch",
        "source_file",
        "source_line",
    ]
    if tr is None or tr.empty or outb.empty:
        return pd.DataFrame({c: [] for c in cols})
    ex = outb[outb["files"].notna()][["session_id", "lab", "account", "ts", "files", "src"]]
    if ex.empty:
        return pd.DataFrame({c: [] for c in cols})
    ex = ex.assign(file_base=ex["files"].str.split(" | ", regex=False)).explode("file_base")
    ex["fb"] = ex["file_base"].str.lower()
    t = tr.assign(fb=tr["file_base"].astype(str).str.lower())
    m = ex.merge(t, on="fb", how="inner", suffixes=("", "_t"))
    skew = pd.Timedelta(hours=params.transfer_skew_h)
    m = m[m["ts_t"] >= m["ts"] - skew]
    if m.empty:
        return pd.DataFrame({c: [] for c in cols})
    direction = m["direction"].astype(str).str.lower()
    anon = (m["access_mode"].astype(str).str.lower() == "a") | m["user"].astype(
        str
    ).str.lower().isin(["anonymous", "ftp"])
    network = [nets.classify(h) for h in m["remote_host"].astype(object)]
    out = pd.DataFrame(
        {
            "session_id": m["session_id"].astype("string"),
            "lab": m["lab"].astype("string"),
            "account": m["account"].astype("string"),
            "extraction_ts": m["ts"],
            "extraction_source": m["src"].astype("string"),
            "file_base": m["file_base_t"].astype("string"),
            "transfer_ts": m["ts_t"],
            "delay_h": (m["ts_t"] - m["ts"]).dt.total_seconds() / 3600.0,
            "direction": direction.astype("string"),
            "remote_host": m["remote_host"].astype("string"),
            "network": pd.Series(network, index=m.index, dtype="string"),
            "access_mode": m["access_mode"].astype("string"),
            "user": m["user"].astype("string"),
            "bytes": pd.to_numeric(m["bytes"], errors="coerce").astype("Int64"),
            "completion": m["completion"].astype("string"),
            "anonymous": anon.to_numpy(),
            "outside": np.array([n in ("other", "unknown") for n in network], dtype=bool),
            "source_file": m["source_file"].astype("string"),
            "source_line": pd.to_numeric(m["source_line"], errors="coerce").astype("Int64"),
        }
    )
    # uploads: only at or after the extraction (within skew); downloads: every later one
    out["external_fetch"] = (out["direction"] == "download") & (out["anonymous"] | out["outside"])
    return out.sort_values(
        ["extraction_ts", "session_id", "file_base", "transfer_ts", "remote_host"], kind="stable"
    ).reset_index(drop=True)


def _touched_leaked(
    events: pd.DataFrame,
    ts: pd.Series,
    lab: pd.Series,
    has_p: np.ndarray,
    ss: pd.DataFrame,
    matches: pd.DataFrame,
) -> pd.Series:
    """Number of leaked patients named by each exporting session's own events."""
    if matches.empty or ss.empty or not has_p.any():
        return pd.Series(dtype="int64")
    pat = events["patient"][has_p].astype("string")
    lab_p = lab[has_p]
    leaked = (lab_p.astype(str) + "\x1f" + pat.astype(str)).isin(
        set(matches["lab"].astype(str) + "\x1f" + matches["patient"].astype(str))
    )
    keys = set(ss["lab"].astype(str) + "\x1f" + ss["account"].astype(str))
    acct = events["account"][has_p].astype("string")
    wanted = (leaked & (lab_p.astype(str) + "\x1f" + acct.astype(str)).isin(keys)).to_numpy()
    if not wanted.any():
        return pd.Series(dtype="int64")
    pe = pd.DataFrame(
        {
            "ts": ts[has_p][wanted],
            "lab": lab_p[wanted],
            "account": acct[wanted],
            "patient": pat[wanted],
        }
    )
    if "session_id" in events.columns:
        pe["session_id"] = events["session_id"][has_p][wanted].astype("string")
    else:
        pe["session_id"] = _assign_sessions(pe, ss)
    pe = pe[pe["session_id"].isin(ss["session_id"])]
    return pe.drop_duplicates(["session_id", "patient"]).groupby("session_id").size()


def _session_features(
    events: pd.DataFrame,
    ts: pd.Series,
    lab: pd.Series,
    outb: pd.DataFrame,
    ss: pd.DataFrame,
    nets: _Networks,
) -> pd.DataFrame:
    """Add ``module``, ``network``, ``new_source``, ``evidence``, ``n_evidence_rows`` and
    ``output_files`` to the exporting sessions (vectorized; one pass for all runs)."""
    ob = outb[outb["session_id"].isin(ss["session_id"])]
    ob = ob.assign(_r=ob["records"].fillna(-1).astype("int64"))
    ob = ob.sort_values(["session_id", "ts"], kind="stable")
    # the module of the session's largest export/extraction
    mod = (
        ob.sort_values(["session_id", "_r"], ascending=[True, False], kind="stable")
        .drop_duplicates("session_id")
        .set_index("session_id")["module"]
    )
    # network of the outbound events' addresses (the most external class wins)
    pair = ob["lab"].astype(str) + "\x1f" + ob["src_ip"].fillna("").astype(str)
    codes, uniq = pd.factorize(pair)
    prio = np.array(
        [
            _NET_PRIORITY.index(nets.classify(u.split("\x1f", 1)[1], u.split("\x1f", 1)[0]))
            for u in uniq
        ],
        dtype=np.int64,
    )
    ob_prio = pd.Series(prio[codes] if len(ob) else [], index=ob.index, dtype="int64")
    has_ip = ob["src_ip"].fillna("").astype(str).str.strip().ne("")
    net_ev = ob_prio[has_ip.to_numpy()].groupby(ob["session_id"][has_ip.to_numpy()]).min()
    evidence = ob.groupby("session_id")["src"].agg(" ; ".join)
    n_rows = ob.groupby("session_id").size()
    fl = ob[ob["files"].notna()]
    files = (
        fl.assign(f=fl["files"].str.split(" | ", regex=False))
        .explode("f")
        .drop_duplicates(["session_id", "f"])
        .sort_values(["session_id", "f"])
        .groupby("session_id")["f"]
        .agg(" | ".join)
        if len(fl)
        else pd.Series(dtype="string")
    )
    out = ss.copy()
    sid = out["session_id"]
    out["module"] = sid.map(mod).astype("string")
    if "modules" in out.columns:
        out["module"] = out["module"].fillna(out["modules"].astype("string"))
    # how routine the pathway is: days on which this lab, account and module moved records
    moved = ob[ob["_r"] > 0]
    pk = (
        moved["lab"].astype(str)
        + "\x1f"
        + moved["account"].astype(str)
        + "\x1f"
        + moved["module"].fillna("").astype(str)
    )
    days = pd.Series(moved["ts"].dt.floor("D").to_numpy(), index=pk.to_numpy())
    n_days = days.groupby(level=0).nunique()
    sk = (
        out["lab"].astype(str)
        + "\x1f"
        + out["account"].astype(str)
        + "\x1f"
        + out["module"].fillna("").astype(str)
    )
    out["pathway_days"] = sk.map(n_days).fillna(1).astype("int64")
    net_code = sid.map(net_ev)
    # sessions whose export rows carry no address: fall back on the session's addresses
    fb = net_code.isna()
    if fb.any():
        net_code[fb] = [
            _NET_PRIORITY.index(
                nets.session_class([] if v is None or v is pd.NA else str(v).split(" | "), str(lb))
            )
            for v, lb in zip(out.loc[fb, "src_ips"], out.loc[fb, "lab"], strict=True)
        ]
    out["network"] = pd.Series(
        np.array(_NET_PRIORITY, dtype=object)[net_code.astype("int64").to_numpy()],
        index=out.index,
        dtype="string",
    )
    out["evidence"] = sid.map(evidence).astype("string")
    out["n_evidence_rows"] = sid.map(n_rows).fillna(0).astype("int64")
    out["output_files"] = sid.map(files).astype("string")
    # new source: an outbound address this account, known at this lab before the session,
    # had never used there with success (an account with no earlier event has no history)
    if len(ob):
        ev_ip = events["src_ip"].astype("string")
        k_acc = lab.astype(str) + "\x1f" + events["account"].astype(str)
        k_all = k_acc + "\x1f" + ev_ip.fillna("").astype(str)
        ob_acc = ob["lab"].astype(str) + "\x1f" + ob["account"].astype(str)
        sel_a = k_acc.isin(set(ob_acc)).to_numpy()
        acc_first = (
            pd.Series(ts[sel_a].to_numpy(), index=k_acc[sel_a].to_numpy()).groupby(level=0).min()
        )
        k_ob = (
            ob["lab"].astype(str)
            + "\x1f"
            + ob["account"].astype(str)
            + "\x1f"
            + ob["src_ip"].fillna("").astype(str)
        )
        # failed logins do not count as use: an attacker's failures precede their session
        sel = (k_all.isin(set(k_ob)) & (events["action"].astype(str) != "login_failed")).to_numpy()
        first = pd.Series(ts[sel].to_numpy(), index=k_all[sel].to_numpy()).groupby(level=0).min()
        start_of = dict(zip(out["session_id"], out["start"], strict=True))
        ob_first = k_ob.map(first)
        ob_start = ob["session_id"].map(start_of)
        new = (ob_first >= ob_start) & has_ip & (ob_acc.map(acc_first) < ob_start)
        out["new_source"] = sid.map(new.groupby(ob["session_id"]).any()).fillna(False).astype(bool)
    else:
        out["new_source"] = False
    return out


def _prepare(
    events: pd.DataFrame,
    sessions: pd.DataFrame,
    scores: pd.DataFrame | None,
    leak: Any,
    transfers: Any,
    case_key: Any,
    params: AttributionParams,
) -> _Context:
    _check(events, _EVENT_NEED, "event")
    _check(sessions, _SESSION_NEED, "session")
    notes: list[str] = []
    nets = _Networks(params)
    if not nets.configured:
        notes.append(
            "lab_networks not configured: private (RFC 1918/ULA) addresses count as lab "
            "addresses, public ones as outside"
        )
    if not nets.vendor:
        notes.append(
            "vendor_networks not configured: a vendor account from outside the lab networks "
            "is kept under the vendor hypothesis"
        )
    ts = pd.to_datetime(events["ts"], utc=True).astype("datetime64[ns, UTC]")
    lab = events["lab"].astype("string")
    span = (
        pd.DataFrame({"lab": lab, "ts": ts})
        .groupby("lab", observed=True)["ts"]
        .agg(evidence_start="min", evidence_end="max")
        .reset_index()
    )
    has_p = events["patient"].notna().to_numpy()
    patients = (
        pd.DataFrame(
            {
                "lab": lab[has_p],
                "patient": events["patient"][has_p].astype("string"),
                "ts": ts[has_p],
            }
        )
        .groupby(["lab", "patient"], observed=True)["ts"]
        .min()
        .rename("first_seen")
        .reset_index()
    )

    # sessions
    ss = sessions.copy()
    ss["session_id"] = ss["session_id"].astype("string")
    ss["lab"] = ss["lab"].astype("string")
    ss["start"] = pd.to_datetime(ss["start"], utc=True).astype("datetime64[ns, UTC]")
    ss["end"] = pd.to_datetime(ss["end"], utc=True).astype("datetime64[ns, UTC]")
    ss["records"] = pd.to_numeric(ss["records_exported"]).fillna(0).astype("int64") + pd.to_numeric(
        ss["records_extracted"]
    ).fillna(0).astype("int64")
    ss["account_kind"] = ss["account_kind"].astype("string").fillna("unknown")
    ss["role"] = ss["role"].astype("string").str.upper()
    ss["failed_logins_before"] = pd.to_numeric(ss["failed_logins_before"]).fillna(0).astype(int)
    if "concurrent_sessions" not in ss.columns:
        ss["concurrent_sessions"] = 0
    n_scores = 0
    if scores is not None:
        sc = scores.copy()
        if "session_id" not in sc.columns:
            sc = sc.rename_axis("session_id").reset_index()
        if "score" not in sc.columns:
            raise SchemaError("scores table needs a 'score' column (higher = more anomalous)")
        if "rank" not in sc.columns:
            sc["rank"] = sc["score"].rank(ascending=False, method="min")
        if "flagged" not in sc.columns:
            sc["flagged"] = pd.NA
        sc = sc[["session_id", "score", "rank", "flagged"]].astype(
            {"session_id": "string", "flagged": "boolean"}
        )
        sc = sc.drop_duplicates("session_id")
        n_scores = len(sc)
        ss = ss.merge(sc, on="session_id", how="left")
        # percentile of the detection rank: 1 for the most anomalous session
        ss["percentile"] = 1.0 - (ss["rank"].astype(float) - 1.0) / max(n_scores, 1)
    else:
        ss["score"] = np.nan
        ss["rank"] = np.nan
        ss["flagged"] = pd.array([pd.NA] * len(ss), dtype="boolean")
        ss["percentile"] = np.nan
        notes.append(
            "no anomaly scores given: rarity (1 / days on which the same lab, account and "
            "module moved records) stands in for the anomaly score"
        )
    ss = ss[ss["records"] > 0].reset_index(drop=True)

    # outbound events, with their session
    is_out = events["action"].astype(str).isin(["export", "extract"]).to_numpy()
    ev = events[is_out]
    na = pd.Series(pd.NA, index=ev.index, dtype="string")
    outb = pd.DataFrame(
        {
            "ts": ts[is_out],
            "lab": lab[is_out],
            "account": ev["account"].astype("string"),
            "module": ev["module"].astype("string").str.upper(),
            "src_ip": ev["src_ip"].astype("string"),
            "records": pd.to_numeric(ev["records"] if "records" in ev.columns else na).astype(
                "Int64"
            ),
            "detail": ev["detail"].astype("string"),
            "src": (
                ev["source_file"].astype("string").fillna("?")
                if "source_file" in ev.columns
                else na.fillna("?")
            )
            + ":"
            + (
                ev["source_line"].astype("string").fillna("?")
                if "source_line" in ev.columns
                else na.fillna("?")
            ),
        }
    )
    if "session_id" in ev.columns:
        outb["session_id"] = ev["session_id"].astype("string")
    outb["session_id"] = _assign_sessions(outb, ss)
    outb["files"] = _files_in(outb["detail"])

    # leak
    matches = pd.DataFrame(
        {"leak_id": [], "lab": [], "patient": [], "first_seen": [], "date": [], "n_labs": []}
    )
    never = pd.DataFrame({"leak_id": [], "lab": [], "id_kind": []}, dtype="string")
    leak_rows = None
    leak_report: dict[str, Any] | None = None
    if leak is not None:
        key = load_case_key(case_key, warn=False)
        if isinstance(leak, pd.DataFrame) and {"leak_id", "patient", "id_kind"} <= set(
            leak.columns
        ):
            leak_rows = _coerce_leak(leak)
            leak_report = dict(leak.attrs.get("leak_report") or {}) or None
        else:
            leak_rows = read_leak(
                leak,
                case_key=key,
                labs=span["lab"].astype(str).tolist(),
                lab_aliases=params.lab_aliases,
            )
            leak_report = dict(leak_rows.attrs.get("leak_report") or {}) or None
        if leak_report is not None:  # labs absent from the evidence, against its labs
            leak_report["unknown_lab"] = _unknown_labs(leak_rows, span["lab"].astype(str))
        lr = leak_rows[leak_rows["patient"].notna()]
        with_lab = lr[lr["lab"].notna()].merge(patients, on=["lab", "patient"], how="inner")
        no_lab = lr[lr["lab"].isna()].drop(columns="lab").merge(patients, on="patient", how="inner")
        matches = pd.concat([with_lab, no_lab], ignore_index=True)[
            ["leak_id", "lab", "patient", "first_seen", "date"]
        ].drop_duplicates(["leak_id", "lab", "patient"], ignore_index=True)
        matches["n_labs"] = matches.groupby("leak_id")["lab"].transform("nunique").astype(int)
        nf = leak_rows[~leak_rows["leak_id"].isin(matches["leak_id"])]
        never = (
            nf.assign(lab=nf["lab"].where(nf["lab_given"]))
            .drop_duplicates("leak_id")[["leak_id", "lab", "id_kind"]]
            .sort_values("leak_id", ignore_index=True)
        )

    touched = _touched_leaked(events, ts, lab, has_p, ss, matches)
    ss = _session_features(events, ts, lab, outb, ss, nets)
    # anomaly in [0, 1]: 1 when the detection stage flagged the session; else the smaller
    # of its rank percentile and its pathway's rarity (a routine job stays low even when
    # ranked high); rarity alone for sessions without a score
    rarity = 1.0 / ss["pathway_days"].clip(lower=1)
    anomaly = np.fmin(ss["percentile"].astype(float), rarity).fillna(rarity)
    ss["anomaly"] = anomaly.where(~ss["flagged"].fillna(False).astype(bool), 1.0)

    tr = _read_transfers_arg(transfers, params)
    links = _link_transfers(outb, tr, nets, params)
    if tr is not None:
        unlinked = tr[
            (tr["direction"].astype(str).str.lower() == "download")
            & ~tr["file_base"]
            .astype(str)
            .str.lower()
            .isin(links["file_base"].astype(str).str.lower())
        ]
        notes.append(
            f"{len(tr)} FTP transfers read; {len(links)} linked to an extraction; "
            f"{len(unlinked)} downloads of files no logged extraction names"
        )
    ctx = _Context(
        events_out=outb,
        sessions=ss,
        patients=patients,
        lab_span=span,
        leak=leak_rows,
        matches=matches,
        never_seen=never,
        links=links,
        scores_n=n_scores,
        notes=notes,
        touched=touched,
        leak_report=leak_report,
        leak_ids_by_lab=(
            leak_rows[leak_rows["lab_given"]].groupby("lab")["leak_id"].nunique()
            if leak_rows is not None
            else pd.Series(dtype="int64")
        ),
    )
    ctx.nets = nets
    return ctx


# --------------------------------------------------------------------------------------
# windows


def _ns(s: pd.Series) -> np.ndarray:
    """UTC instants as int64 ns since the epoch."""
    return s.astype("datetime64[ns, UTC]").dt.tz_convert(None).to_numpy().view("int64")


def _xlogx(x: np.ndarray, n: np.ndarray) -> np.ndarray:
    """x * log(x / n), with 0 log 0 = 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(x > 0, x * np.log(np.where(n > 0, x / np.maximum(n, 1), 1.0)), 0.0)
    return r


def _bernoulli_ll(x: np.ndarray, n: np.ndarray) -> np.ndarray:
    return _xlogx(x, n) + _xlogx(n - x, n)


def _best_split(lk: np.ndarray, f: np.ndarray, min_size: int) -> tuple[int, float] | None:
    """Best single Bernoulli change point of ``lk`` (index of the first right element, LLR)."""
    n = len(lk)
    if n < 2 * min_size:
        return None
    c = np.cumsum(lk)
    total = float(c[-1])
    k = np.arange(min_size, n - min_size + 1)
    x1 = c[k - 1].astype(float)
    n1 = k.astype(float)
    ll = _bernoulli_ll(x1, n1) + _bernoulli_ll(total - x1, n - n1)
    # a break inside a run of equal first-seen times is not a break in time
    ll = np.where(f[k] > f[k - 1], ll, -np.inf)
    j = int(np.argmax(ll))
    if not np.isfinite(ll[j]):
        return None
    null = float(_bernoulli_ll(np.array([total]), np.array([float(n)]))[0])
    return int(k[j]), float(ll[j] - null)


def _segment(
    lk: np.ndarray, f: np.ndarray, pen: float, min_size: int = 5
) -> list[tuple[int, float]]:
    """Binary segmentation: change points (index, LLR) with LLR > ``pen``, in index order."""
    out: list[tuple[int, float]] = []
    todo = [(0, len(lk))]
    while todo and len(out) < 32:
        a, b = todo.pop()
        r = _best_split(lk[a:b], f[a:b], min_size)
        if r is None or r[1] <= pen:
            continue
        out.append((a + r[0], r[1]))
        todo.extend([(a, a + r[0]), (a + r[0], b)])
    return sorted(out)


def _cp_upper(x: int, n: int, alpha: float) -> float:
    """One-sided Clopper-Pearson upper bound of a share x/n at level 1 - alpha (1 if n = 0)."""
    from scipy.stats import beta

    if n <= 0 or x >= n:
        return 1.0
    return float(beta.ppf(1.0 - alpha, x + 1, n - x))


def _onset(lk: np.ndarray, k_cp: int, params: AttributionParams) -> int | None:
    """Earliest onset of not-leaked patients before the change point ``k_cp``.

    A full copy leaves every patient first seen before it in the leak, up to the
    leak's noise (``leak_noise``). The onset is the first not-leaked patient ``j``
    (after at least ``min_prefix`` patients) such that the prefix before ``j`` is
    complete (leaked share >= ``full_completeness``) and the not-leaked patients in
    ``[j, k_cp)`` are too many for that completeness (one-sided binomial test at
    ``bound_alpha``, rate ``max(1 - prefix share, leak_noise)``). It catches a
    copy whose drop is masked by a later burst of old patients coming into view.
    """
    from scipy.stats import binom

    if k_cp <= params.min_prefix:
        return None
    x = lk[:k_cp]
    c_leak = np.concatenate([[0.0], np.cumsum(x)])
    j = np.flatnonzero(x == 0)
    j = j[j >= params.min_prefix]
    if not j.size:
        return None
    p_b = c_leak[j] / j
    keep = p_b >= params.full_completeness  # only after a complete prefix
    j, p_b = j[keep], p_b[keep]
    if not j.size:
        return None
    n_after = k_cp - j
    z_after = n_after - (c_leak[k_cp] - c_leak[j])
    rate = np.maximum(1.0 - p_b, params.leak_noise)
    ok = binom.sf(z_after - 1, n_after, rate) < params.bound_alpha
    return int(j[np.argmax(ok)]) if ok.any() else None


def _window_one(
    fs: np.ndarray,
    leaked: np.ndarray,
    censored: np.ndarray,
    params: AttributionParams,
) -> dict[str, Any]:
    """Window of one lab. ``fs`` int64 ns sorted ascending; boolean masks aligned.

    The copy's horizon is the *earliest significant drop* of the leaked share over
    first-seen order: binary segmentation (Bernoulli likelihood, penalty
    ``cp_penalty x ln n``) finds the level shifts; the first drop whose
    log-likelihood ratio reaches ``drop_ratio`` x the largest drop's is taken (a
    later, larger drop comes from a change in what is logged, e.g. a migration
    to a product that logs more, bringing old patients into view).
    """
    res: dict[str, Any] = {}
    use = ~censored
    f, lk = fs[use], leaked[use].astype(float)
    n = len(f)
    k_cp = None
    seg_end = n
    llr = 0.0
    n_breaks = 0
    method = "none"
    if n >= 2 and lk.any():
        pen = params.cp_penalty * math.log(max(n, 2))
        cps = _segment(lk, f, pen)
        n_breaks = len(cps)
        bounds = [0] + [k for k, _ in cps] + [n]
        drops = []
        for i, (k, r) in enumerate(cps):
            left = lk[bounds[i] : k].mean()
            right = lk[k : bounds[i + 2]].mean()
            if left > right:
                drops.append((k, r, bounds[i + 2]))
        if drops:
            top = max(r for _, r, _ in drops)
            k_cp, llr, seg_end = next(d for d in drops if d[1] >= params.drop_ratio * top)
            method = "change_point"
            onset = _onset(lk, k_cp, params)
            if onset is not None:
                k_cp, seg_end, method = onset, k_cp, "onset"
        lk = lk.astype(bool)
    else:
        lk = lk.astype(bool)
    note = []
    q = 0.0
    m_need = 0
    if k_cp is None:
        before_idx = np.flatnonzero(lk)
        after_ns = int(f[before_idx[-1]]) if before_idx.size else None
        note.append(
            "no drop in the leaked share over first-seen time: the copy was taken after the "
            "last patient seen, or the leak is not bounded in time"
            if before_idx.size
            else "every leaked patient is censored (first seen in the first censor_days): no "
            "lower bound"
        )
    else:
        # leaked share just after the break: returning patients created before the copy
        # (or audited late) look like new ones; a run of m leaked patients all after the
        # copy has probability q^m, so the lower bound backs off m leaked patients
        # q is estimated from few patients: use its one-sided Clopper-Pearson upper bound
        seg = lk[k_cp : min(seg_end, k_cp + params.post_sample)]
        q = float(seg.mean()) if seg.size else 0.0
        q_up = _cp_upper(int(seg.sum()), int(seg.size), params.bound_alpha)
        if q_up < 1:
            m_need = max(1, math.ceil(math.log(params.bound_alpha) / math.log(q_up)))
        li = np.flatnonzero(lk[:k_cp])
        if m_need and li.size >= m_need:
            after_ns = int(f[li[-m_need]])
        else:
            after_ns = None
            note.append(
                f"fewer than {m_need} leaked patients before the change point: no lower bound"
            )
    # completeness: leaked share of all patients (censored included) first seen up to `after`
    if after_ns is not None:
        upto = fs <= after_ns
        completeness = float(leaked[upto].mean()) if upto.any() else float("nan")
    else:
        completeness = float(leaked[censored].mean()) if censored.any() else float("nan")
    before_ns = None
    k_need = 0
    if k_cp is not None and after_ns is not None:
        # completeness's one-sided Clopper-Pearson lower bound
        upto = fs <= after_ns
        p = 1.0 - _cp_upper(int((~leaked[upto]).sum()), int(upto.sum()), params.bound_alpha)
        if p <= 0:
            k_need = 0
        else:
            k_need = max(1, math.ceil(math.log(params.bound_alpha) / math.log(1.0 - p)))
        ti = np.flatnonzero((f > after_ns) & ~lk)
        if k_need and ti.size >= k_need:
            before_ns = int(f[ti[k_need - 1]])
        elif k_need:
            note.append(
                f"fewer than {k_need} not-leaked patients after the lower bound: no upper bound"
            )
    res["after"] = after_ns
    res["before"] = before_ns
    res["change_point_llr"] = llr
    res["completeness"] = completeness
    res["post_share"] = q
    res["support_after"] = m_need if after_ns is not None and k_cp is not None else 0
    res["support_before"] = k_need if before_ns is not None else 0
    bound = before_ns if before_ns is not None else after_ns
    res["n_late_leaked"] = int((lk & (f > bound)).sum()) if bound is not None else 0
    res["n_breaks"] = n_breaks
    res["horizon_method"] = method
    res["note"] = "; ".join(note)
    return res


def _lab_arrays(ctx: _Context) -> dict[str, tuple[pd.DataFrame, np.ndarray, np.ndarray]]:
    """Per lab with leaked patients: patients sorted by first-seen, first-seen ns, leaked mask.

    Independent of the thresholds, so computed once and reused by the stability reruns."""
    if ctx.arrays is not None:
        return ctx.arrays
    m = ctx.matches
    out = {}
    pts = ctx.patients
    for lab, g in m.groupby("lab", sort=True):
        p = pts[pts["lab"] == lab].sort_values(["first_seen", "patient"], kind="stable")
        leaked = p["patient"].isin(g["patient"].unique()).to_numpy(dtype=bool)
        out[str(lab)] = (p, _ns(p["first_seen"]), leaked)
    ctx.arrays = out
    return out


def _windows(ctx: _Context, params: AttributionParams) -> pd.DataFrame:
    """Exfiltration window per lab with leaked patients found.

    Columns: ``lab``, ``n_patients`` (seen in the lab's evidence), ``n_leaked``
    (leaked patients found there), ``leaked_share``, ``evidence_start``,
    ``evidence_end``, ``censor_until``, ``n_censored``, ``n_censored_leaked``
    (left out of ``after`` because first seen before ``censor_until``),
    ``after``, ``before`` (UTC, NaT when unbounded), ``width_h``,
    ``after_leak_dates`` (latest sample date in the leak, if any),
    ``completeness``, ``extraction`` (``full``/``filtered``),
    ``change_point_llr``, ``support_after``, ``support_before``,
    ``n_late_leaked`` (leaked patients first seen after ``before``: returning
    patients created before logging, or audited late), ``post_share`` (leaked
    share just after the change point), ``confidence`` (``high``: both bounds,
    log-likelihood ratio >= 20, completeness >= 0.9 and post_share <= 0.5;
    ``medium``: both bounds and ratio >= 5; ``low``: otherwise; ``none``: no
    lower bound), ``note``.
    """
    cols = [
        "lab",
        "n_patients",
        "n_leaked",
        "leaked_share",
        "evidence_start",
        "evidence_end",
        "censor_until",
        "n_censored",
        "n_censored_leaked",
        "after",
        "before",
        "width_h",
        "after_leak_dates",
        "completeness",
        "extraction",
        "change_point_llr",
        "support_after",
        "support_before",
        "n_late_leaked",
        "post_share",
        "horizon_method",
        "confidence",
        "note",
    ]
    m = ctx.matches
    if m.empty:
        return pd.DataFrame({c: [] for c in cols})
    rows = []
    spans = ctx.lab_span.set_index("lab")
    arrays = _lab_arrays(ctx)
    for lab in sorted(arrays):
        p, fs, leaked = arrays[lab]
        start = spans.loc[lab, "evidence_start"]
        end = spans.loc[lab, "evidence_end"]
        censor_until = start + pd.Timedelta(days=params.censor_days)
        censored = fs < censor_until.value
        w = _window_one(fs, leaked, censored, params)
        after = pd.Timestamp(w["after"], tz="UTC") if w["after"] is not None else pd.NaT
        before = pd.Timestamp(w["before"], tz="UTC") if w["before"] is not None else pd.NaT
        note = [w["note"]] if w["note"] else []
        if int(censored.sum()):
            note.append(
                f"{int(censored.sum())} patients first seen before {censor_until.isoformat()} "
                f"(first {params.censor_days:g} days of evidence) left out of the lower bound: "
                "they may predate logging"
            )
        dates = m.loc[m["lab"] == lab, "date"].dropna()
        after_dates = dates.max() if len(dates) else pd.NaT
        if pd.notna(after_dates):
            if pd.isna(before) or after_dates < before:
                if pd.isna(after) or after_dates > after:
                    after = after_dates
                    note.append("lower bound raised to the leak's latest sample date")
            else:
                note.append(
                    "the leak's latest sample date is after the upper bound: bounds in conflict"
                )
        completeness = w["completeness"]
        if pd.isna(after):
            conf = "none"
        elif (
            pd.notna(before)
            and w["change_point_llr"] >= 20
            and completeness >= 0.9
            and w["post_share"] <= 0.5
        ):
            conf = "high"
        elif pd.notna(before) and w["change_point_llr"] >= 5:
            conf = "medium"
        else:
            conf = "low"
        n_leaked = int(leaked.sum())
        rows.append(
            {
                "lab": lab,
                "n_patients": len(p),
                "n_leaked": n_leaked,
                "leaked_share": n_leaked / max(len(p), 1),
                "evidence_start": start,
                "evidence_end": end,
                "censor_until": censor_until,
                "n_censored": int(censored.sum()),
                "n_censored_leaked": int((censored & leaked).sum()),
                "after": after,
                "before": before,
                "width_h": (before - after).total_seconds() / 3600.0
                if pd.notna(before) and pd.notna(after)
                else np.nan,
                "after_leak_dates": after_dates,
                "completeness": completeness,
                "extraction": (
                    "full"
                    if not math.isnan(completeness) and completeness >= params.full_completeness
                    else "filtered"
                ),
                "change_point_llr": w["change_point_llr"],
                "support_after": w["support_after"],
                "support_before": w["support_before"],
                "n_late_leaked": w["n_late_leaked"],
                "post_share": w["post_share"],
                "horizon_method": w["horizon_method"],
                "confidence": conf,
                "note": "; ".join(note),
            }
        )
    out = pd.DataFrame(rows, columns=cols)
    for c in (
        "evidence_start",
        "evidence_end",
        "censor_until",
        "after",
        "before",
        "after_leak_dates",
    ):
        out[c] = pd.to_datetime(out[c], utc=True).astype("datetime64[ns, UTC]")
    return out


# --------------------------------------------------------------------------------------
# candidates, pathways, hypotheses


def _candidate_features(ctx: _Context, c: pd.DataFrame, params: AttributionParams) -> pd.DataFrame:
    """Transfer flags and hypothesis of each candidate (features precomputed in _prepare).

    Hypothesis of a session (first rule that applies):

    - ``external``: a burst of >= ``failed_burst`` failed logins before it, or an
      outbound address outside the lab and vendor networks (``network`` ``other``;
      for a vendor account only when ``vendor_networks`` is configured, since
      otherwise its own addresses cannot be told from an outsider's);
    - ``vendor``: a vendor account (kind ``vendor`` or role ``EDITEUR``) or an
      address in the vendor networks;
    - ``insider``: anything else (a lab account from a lab or local address).
    """
    nets = ctx.nets
    assert nets is not None
    out = c.copy()
    links = ctx.links
    if not links.empty and links["external_fetch"].any():
        ext = links[links["external_fetch"]]
        fetched = ext.groupby("session_id")["remote_host"].agg(
            lambda s: " | ".join(sorted(set(s.astype(str))))
        )
        out["fetched_outside_by"] = out["session_id"].map(fetched).astype("string")
    else:
        out["fetched_outside_by"] = pd.Series(pd.NA, index=out.index, dtype="string")
    out["retrieved_outside"] = out["fetched_outside_by"].notna()
    burst = out["failed_logins_before"] >= params.failed_burst
    kind = out["account_kind"].astype(str)
    role = out["role"].fillna("").astype(str)
    vendorish = (kind == "vendor") | (role == "EDITEUR") | (out["network"] == "vendor")
    outside = out["network"] == "other"
    if not nets.vendor:
        outside = outside & ~((kind == "vendor") | (role == "EDITEUR"))
    hyp = np.where(burst | outside, "external", np.where(vendorish, "vendor", "insider"))
    out["failed_burst"] = burst.to_numpy()
    out["hypothesis"] = pd.Series(hyp, index=out.index, dtype="string")
    return out


def _rank_candidates(c: pd.DataFrame, by_fit: bool) -> pd.DataFrame:
    keys = (["rank_value", "fit"] if by_fit else ["anomalous_volume"]) + ["score", "records"]
    c = c.assign(_s=c["score"].astype(float).fillna(-np.inf))
    k = [x if x != "score" else "_s" for x in keys]
    c = c.sort_values(
        k + ["start", "session_id"], ascending=[False] * len(k) + [True, True], kind="stable"
    )
    c = c.drop(columns="_s").reset_index(drop=True)
    c.insert(0, "candidate_rank", np.arange(1, len(c) + 1))
    return c


_CAND_COLS = [
    "candidate_rank",
    "lab",
    "session_id",
    "account",
    "account_kind",
    "role",
    "module",
    "network",
    "src_ips",
    "start",
    "end",
    "records_exported",
    "records_extracted",
    "records",
    "n_leaked_lab",
    "capacity",
    "holds",
    "distance_h",
    "in_window",
    "fit",
    "anomaly",
    "pathway_days",
    "routine",
    "leak_ids_lab",
    "size_ratio",
    "rank_value",
    "touched_leaked",
    "score",
    "score_rank",
    "patients_lab",
    "anomalous_volume",
    "failed_logins_before",
    "failed_burst",
    "new_source",
    "concurrent_sessions",
    "hypothesis",
    "pathway_id",
    "explains",
    "output_files",
    "retrieved_outside",
    "fetched_outside_by",
    "n_evidence_rows",
    "evidence",
]


def _candidates(ctx: _Context, windows: pd.DataFrame, params: AttributionParams) -> pd.DataFrame:
    ss = ctx.sessions
    if ctx.leak is None:
        c = ss.copy()
        c["n_leaked_lab"] = 0
        c["capacity"] = np.nan
        c["holds"] = pd.array([pd.NA] * len(c), dtype="boolean")
        c["distance_h"] = np.nan
        c["in_window"] = pd.array([pd.NA] * len(c), dtype="boolean")
        c["fit"] = np.nan
    else:
        if windows.empty:
            return pd.DataFrame({k: [] for k in _CAND_COLS})
        w = windows[["lab", "n_leaked", "after", "before", "evidence_start"]]
        c = ss.merge(w, on="lab", how="inner")
        lo = c["after"].fillna(c["evidence_start"])
        hi = c["before"]
        gap_lo = (lo - c["end"]).dt.total_seconds().clip(lower=0) / 3600.0
        gap_hi = ((c["start"] - hi).dt.total_seconds().clip(lower=0) / 3600.0).fillna(0.0)
        c["distance_h"] = np.maximum(gap_lo.to_numpy(), gap_hi.to_numpy())
        c["in_window"] = c["distance_h"] == 0
        c["n_leaked_lab"] = c["n_leaked"].astype(int)
        c["capacity"] = c["records"] / c["n_leaked_lab"].clip(lower=1)
        keep = (c["distance_h"] <= params.window_margin_h) & (
            c["records"] >= params.partial_min_share * c["n_leaked_lab"]
        )
        c = c[keep].copy()
        c["holds"] = c["records"] >= (1.0 - params.records_tolerance) * c["n_leaked_lab"]
        cap = np.minimum(1.0, c["capacity"] / (1.0 - params.records_tolerance))
        c["fit"] = cap * (1.0 / (1.0 + c["distance_h"] / 24.0))
        c = c.drop(columns=["n_leaked", "after", "before", "evidence_start"])
    if c.empty:
        return pd.DataFrame({k: [] for k in _CAND_COLS})
    c = _candidate_features(ctx, c, params)
    c["routine"] = c["pathway_days"] >= params.routine_days
    lid = ctx.leak_ids_by_lab
    c["leak_ids_lab"] = c["lab"].map(lid).astype("Int64") if len(lid) else pd.NA
    c["size_ratio"] = c["records"] / c["leak_ids_lab"].astype("Float64")
    # patient-equivalents: a session cannot move more patients than its lab has, however
    # many rows (results, requests) it writes; weighted by how anomalous it is
    npat = ctx.patients.groupby("lab").size()
    c["patients_lab"] = c["lab"].map(npat).fillna(0).astype("int64")
    c["anomalous_volume"] = np.where(
        c["routine"], 0.0, np.minimum(c["records"], c["patients_lab"]) * c["anomaly"]
    )
    if ctx.leak is not None:
        c["rank_value"] = c["fit"] * (0.5 + 0.5 * c["anomaly"])
    c["score_rank"] = c["rank"]
    # leaked patients the session's own events name (identity overlap, when the log has it)
    c["touched_leaked"] = c["session_id"].map(ctx.touched).fillna(0).astype("int64")
    c = _rank_candidates(c, by_fit=ctx.leak is not None)
    c["pathway_id"] = pd.Series(pd.NA, index=c.index, dtype="string")
    c["explains"] = 0
    return c


def _assign(ctx: _Context, cand: pd.DataFrame) -> pd.DataFrame:
    """Explain each lab's leaked patients: rows ``lab``, ``patient``, ``session_id``."""
    rows = []
    if cand.empty or ctx.matches.empty:
        return pd.DataFrame({"lab": [], "patient": [], "session_id": []}, dtype="string")
    m = ctx.matches.drop_duplicates(["lab", "patient"]).sort_values(
        ["lab", "first_seen", "patient"], kind="stable"
    )
    by_lab = {lab: g["patient"].to_numpy(dtype=object) for lab, g in m.groupby("lab", sort=True)}
    for lab, g in cand.groupby("lab", sort=True):
        pts = by_lab.get(lab)
        if pts is None:
            continue
        g = g[~g["routine"].astype(bool)].sort_values("candidate_rank")
        holding = g[g["holds"].astype(bool)]
        if not holding.empty:
            rows.append(
                pd.DataFrame(
                    {"lab": lab, "patient": pts, "session_id": holding["session_id"].iloc[0]}
                )
            )
            continue
        pos = 0
        for sid, rec in zip(g["session_id"], g["records"], strict=True):
            if pos >= len(pts):
                break
            take = pts[pos : pos + int(rec)]
            rows.append(pd.DataFrame({"lab": lab, "patient": take, "session_id": sid}))
            pos += len(take)
    if not rows:
        return pd.DataFrame({"lab": [], "patient": [], "session_id": []}, dtype="string")
    return pd.concat(rows, ignore_index=True).astype("string")


def _fmt_ts(t: Any) -> str:
    return "?" if t is None or pd.isna(t) else pd.Timestamp(t).strftime("%Y-%m-%d %H:%M UTC")


def _pathways(
    ctx: _Context, cand: pd.DataFrame, assigned: pd.DataFrame, n_found: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    cols = [
        "pathway_id",
        "hypothesis",
        "account_kind",
        "account",
        "role",
        "module",
        "network",
        "n_labs",
        "labs",
        "n_sessions",
        "records",
        "leaked_explained",
        "share",
        "first",
        "last",
        "span_h",
        "max_score",
        "anomalous_volume",
        "volume_share",
        "failed_bursts",
        "labs_retrieved_outside",
        "signature",
    ]
    if cand.empty:
        return pd.DataFrame({c: [] for c in cols}), cand
    key = ["hypothesis", "account_kind", "account", "role", "module", "network"]
    c = cand.copy()
    for k in key:
        c[k] = c[k].astype("string").fillna("")
    m = ctx.matches
    leak_of = m[["lab", "patient", "leak_id"]]
    a = assigned.merge(leak_of, on=["lab", "patient"], how="left") if not assigned.empty else None
    sess_explains = (
        assigned.groupby("session_id").size() if not assigned.empty else pd.Series(dtype=int)
    )
    c["explains"] = c["session_id"].map(sess_explains).fillna(0).astype(int)
    # a pathway's volume at one lab is capped at that lab's patients
    per_lab = c.groupby([*key, "lab"], sort=True).agg(
        v=("anomalous_volume", "sum"), cap=("patients_lab", "first")
    )
    per_lab["v"] = np.minimum(per_lab["v"], per_lab["cap"])
    vol = per_lab.groupby(level=list(range(len(key))))["v"].sum()
    total_vol = float(vol.sum()) or 1.0
    groups = []
    for kv, g in c.groupby(key, sort=True):
        sids = set(g["session_id"].astype(str))
        if a is not None:
            ex = a[a["session_id"].isin(sids)]["leak_id"].nunique()
        else:
            ex = 0
        first, last = g["start"].min(), g["end"].max()
        labs = sorted(set(g["lab"].astype(str)))
        rlabs = sorted(set(g.loc[g["retrieved_outside"].astype(bool), "lab"].astype(str)))
        d = dict(zip(key, kv, strict=True))
        span_h = (last - first).total_seconds() / 3600.0
        if len(labs) > 1:
            sig = (
                f"{d['account_kind']} account {d['account']!r} moved records at {len(labs)} labs "
                f"within {span_h:.1f} h"
            )
        else:
            sig = f"single {d['account_kind']} account {d['account']!r} at one lab ({labs[0]})"
        groups.append(
            {
                **d,
                "n_labs": len(labs),
                "labs": " | ".join(labs),
                "n_sessions": len(g),
                "records": int(g["records"].sum()),
                "leaked_explained": int(ex),
                "share": ex / n_found if n_found else np.nan,
                "first": first,
                "last": last,
                "span_h": span_h,
                "max_score": float(g["score"].astype(float).max())
                if g["score"].notna().any()
                else np.nan,
                "anomalous_volume": float(vol.loc[kv]),
                "volume_share": float(vol.loc[kv]) / total_vol,
                "failed_bursts": int(g["failed_burst"].astype(bool).sum()),
                "labs_retrieved_outside": " | ".join(rlabs) if rlabs else None,
                "signature": sig,
                "_sids": sids,
            }
        )
    p = pd.DataFrame(groups)
    p = p.sort_values(
        ["leaked_explained", "anomalous_volume", "records", *key],
        ascending=[False, False, False, *([True] * len(key))],
        kind="stable",
    ).reset_index(drop=True)
    p["pathway_id"] = [f"PW{i + 1:03d}" for i in range(len(p))]
    sid_to_pw = {s: pw for pw, sids in zip(p["pathway_id"], p["_sids"], strict=True) for s in sids}
    c["pathway_id"] = c["session_id"].astype(str).map(sid_to_pw).astype("string")
    p = p.drop(columns="_sids")[cols]
    for col in ("first", "last"):
        p[col] = pd.to_datetime(p[col], utc=True).astype("datetime64[ns, UTC]")
    return p, c


def _hypotheses(
    ctx: _Context,
    cand: pd.DataFrame,
    pathways: pd.DataFrame,
    assigned: pd.DataFrame,
    windows: pd.DataFrame,
    n_found: int,
    params: AttributionParams,
) -> pd.DataFrame:
    rows = []
    with_leak = ctx.leak is not None
    a = (
        assigned.merge(ctx.matches[["lab", "patient", "leak_id"]], on=["lab", "patient"])
        if not assigned.empty
        else pd.DataFrame({"lab": [], "patient": [], "session_id": [], "leak_id": []})
    )
    sess_hyp = dict(zip(cand.get("session_id", []), cand.get("hypothesis", []), strict=True))
    sess_fit = dict(zip(cand.get("session_id", []), cand.get("fit", []), strict=True))
    sess_retr = dict(
        zip(cand.get("session_id", []), cand.get("retrieved_outside", []), strict=True)
    )
    a = a.assign(
        hypothesis=a["session_id"].map(sess_hyp),
        fit=a["session_id"].map(sess_fit).astype(float),
        retrieved=a["session_id"].map(sess_retr).fillna(False).astype(bool),
    )
    unexplained_labs = _unexplained(ctx, windows, assigned, cand, params)
    ext_links = ctx.links[ctx.links["external_fetch"]] if not ctx.links.empty else ctx.links
    for h in HYPOTHESES:
        pw = pathways[pathways["hypothesis"] == h] if not pathways.empty else pathways
        ah = a[a["hypothesis"] == h]
        if with_leak:
            explained = int(ah["leak_id"].nunique())
            share = explained / n_found if n_found else 0.0
            fit = float(ah["fit"].mean()) if len(ah) else 0.0
        else:
            explained = 0
            share = float(pw["volume_share"].sum()) if not pw.empty else 0.0
            fit = np.nan
        retrieved = (
            int(a[a["retrieved"]]["leak_id"].nunique()) / n_found
            if with_leak and n_found and h == "external"
            else (np.nan if h == "external" else np.nan)
        )
        if share <= 0:
            strength = "none"
        elif with_leak and share >= params.dominant_share and fit >= 0.8:
            strength = "strong"
        elif share >= params.mixed_share and (not with_leak or fit >= 0.5):
            strength = "moderate"
        else:
            strength = "weak"
        labs = (
            sorted(set(ah["lab"].astype(str)))
            if with_leak
            else sorted({x for v in pw.get("labs", []) for x in str(v).split(" | ")})
        )
        ev_for, ev_against = _evidence_texts(
            h, pw, cand, ext_links, unexplained_labs, share, with_leak, params
        )
        rows.append(
            {
                "hypothesis": h,
                "share": share,
                "patients_explained": explained,
                "n_labs": len(labs),
                "labs": " | ".join(labs),
                "n_pathways": len(pw),
                "pathways": " | ".join(pw["pathway_id"]) if not pw.empty else "",
                "fit": fit,
                "strength": strength,
                "share_retrieved_outside": retrieved,
                "evidence_for": ev_for,
                "evidence_against": ev_against,
            }
        )
    return pd.DataFrame(rows)


def _unexplained(
    ctx: _Context,
    windows: pd.DataFrame,
    assigned: pd.DataFrame,
    cand: pd.DataFrame,
    params: AttributionParams,
) -> list[dict[str, Any]]:
    """Labs with leaked patients no candidate explains, and the size of the gap.

    For each: leaked patients found, unexplained, the largest non-routine export or
    extraction within ``window_margin_h`` of the window (records), and the routine
    pathways whose sessions could hold the leak (they explain nothing, see
    ``routine_days``).
    """
    out: list[dict[str, Any]] = []
    if windows.empty:
        return out
    ex = assigned.groupby("lab").size() if not assigned.empty else pd.Series(dtype=int)
    ss = ctx.sessions
    margin = pd.Timedelta(hours=params.window_margin_h)
    for r in windows.itertuples(index=False):
        n_ex = int(ex.get(r.lab, 0))
        gap = int(r.n_leaked) - n_ex
        if gap <= 0:
            continue
        s = ss[(ss["lab"] == r.lab) & (ss["pathway_days"] < params.routine_days)]
        lo = r.after if pd.notna(r.after) else r.evidence_start
        s = s[s["end"] >= lo - margin]
        if pd.notna(r.before):
            s = s[s["start"] <= r.before + margin]
        largest = int(s["records"].max()) if len(s) else 0
        routine = []
        if not cand.empty:
            rc = cand[(cand["lab"] == r.lab) & cand["routine"].astype(bool) & cand["holds"]]
            for (acc, mod), g in rc.groupby(["account", "module"], sort=True):
                routine.append(f"{acc}/{mod} (records on {int(g['pathway_days'].iloc[0])} days)")
        out.append(
            {
                "lab": r.lab,
                "leaked": int(r.n_leaked),
                "unexplained": gap,
                "largest_nonroutine_near_window": largest,
                "routine_holding": routine,
            }
        )
    return out


def _gap_text(u: dict[str, Any], params: AttributionParams) -> str:
    t = (
        f"{u['lab']}: {u['unexplained']} of {u['leaked']} leaked patients unexplained "
        f"(largest non-routine export/extraction within {params.window_margin_h:g} h of the "
        f"window: {u['largest_nonroutine_near_window']} records"
    )
    if u["routine_holding"]:
        t += (
            "; routine jobs that could hold it: "
            + ", ".join(u["routine_holding"])
            + ", so a copy of their output would have been made outside the logged software"
        )
    return t + ")"


def _evidence_texts(
    h: str,
    pw: pd.DataFrame,
    cand: pd.DataFrame,
    ext_links: pd.DataFrame,
    unexplained: list[dict[str, Any]],
    share: float,
    with_leak: bool,
    params: AttributionParams,
) -> tuple[str, str]:
    ev_for: list[str] = []
    against: list[str] = []
    for r in pw.head(5).itertuples(index=False):
        what = (
            f"{r.leaked_explained} leaked patients ({100 * (r.share or 0):.1f}%)"
            if with_leak
            else f"{r.records:,} records ({100 * r.volume_share:.1f}% of anomalous volume)"
        )
        ev_for.append(
            f"{r.pathway_id}: {r.account_kind} account {r.account!r} (role {r.role}, module "
            f"{r.module}, network {r.network}) at {r.n_labs} lab(s) [{r.labs}], {what}, "
            f"{_fmt_ts(r.first)} to {_fmt_ts(r.last)}"
        )
    if len(pw) > 5:
        ev_for.append(f"and {len(pw) - 5} more pathway(s)")
    if h == "external":
        c = cand[cand["hypothesis"] == "external"] if not cand.empty else cand
        nb = int(c["failed_burst"].astype(bool).sum()) if len(c) else 0
        no = int((c["network"] == "other").sum()) if len(c) else 0
        if nb:
            ev_for.append(
                f"{nb} candidate session(s) follow a burst of >= {params.failed_burst} failed logins"
            )
        if no:
            ev_for.append(
                f"{no} candidate session(s) come from outside the lab and vendor networks"
            )
        if len(ext_links):
            hosts = sorted(set(ext_links["remote_host"].astype(str)))
            files = sorted(set(ext_links["file_base"].astype(str)))
            ev_for.append(
                f"{len(ext_links)} download(s) of extraction file(s) {files[:10]} anonymously or "
                f"from outside ({hosts[:10]}): files left by the extraction on the FTP server were "
                "fetched by an outsider (vendor negligence + outsider retrieval; counted in "
                "share_retrieved_outside, not in share)"
            )
    if h == "vendor" and len(ext_links):
        ev_for.append(
            "extraction output files were left on the FTP server and fetched from outside "
            "(see transfers)"
        )
    if pw.empty:
        against.append(f"no candidate session of the {h} kind in or near the windows")
    if with_leak and unexplained:
        labs = "; ".join(_gap_text(u, params) for u in unexplained[:10])
        against.append(f"labs not explained by any candidate: {labs}")
    if with_leak and 0 < share < params.mixed_share:
        against.append(f"explains only {100 * share:.1f}% of the leaked patients found")
    return " ; ".join(ev_for), " ; ".join(against)


def _verdict(
    ctx: _Context,
    hyp: pd.DataFrame,
    assigned: pd.DataFrame,
    windows: pd.DataFrame,
    cand: pd.DataFrame,
    n_found: int,
    params: AttributionParams,
) -> tuple[str, str]:
    if ctx.leak is None:
        top = hyp.sort_values(["share", "hypothesis"], ascending=[False, True]).iloc[0]
        lead = (
            f"; leading hypothesis by anomalous volume moved: {top['hypothesis']} "
            f"({100 * top['share']:.1f}%)"
            if top["share"] > 0
            else "; no session exported or extracted records"
        )
        return "undetermined", "no leak given: nothing to attribute" + lead
    if n_found == 0:
        n_ids = ctx.leak["leak_id"].nunique()
        return (
            "undetermined",
            f"none of the {n_ids:,} leaked identifiers is a patient of the evidence: the copy "
            "cannot be traced to logged activity (made outside the logged software, or from "
            "another source)",
        )
    a = assigned.merge(ctx.matches[["lab", "patient", "leak_id"]], on=["lab", "patient"])
    union = a["leak_id"].nunique() / n_found
    shares = dict(zip(hyp["hypothesis"], hyp["share"], strict=True))
    figs = ", ".join(f"{h} {100 * shares[h]:.1f}%" for h in HYPOTHESES)
    unexp = _unexplained(ctx, windows, assigned, cand, params)
    gap = "; ".join(_gap_text(u, params) for u in unexp[:20])
    if union < params.min_explained:
        return (
            "undetermined",
            f"logged exports/extractions explain {100 * union:.1f}% of the {n_found:,} leaked "
            f"patients found (< min_explained {100 * params.min_explained:.0f}%): the copy was "
            f"likely made outside the logged software or before logging. Gap: {gap or 'none'}",
        )
    best = max(HYPOTHESES, key=lambda h: (shares[h], -HYPOTHESES.index(h)))
    tail = f" Unexplained: {gap}." if gap else ""
    if shares[best] >= params.dominant_share:
        return (
            best,
            f"{best} explains {100 * shares[best]:.1f}% of the {n_found:,} leaked patients found "
            f"(>= dominant_share {100 * params.dominant_share:.0f}%); shares: {figs}.{tail}",
        )
    big = [h for h in HYPOTHESES if shares[h] >= params.mixed_share]
    if len(big) >= 2:
        return (
            "mixed",
            f"{' and '.join(big)} each explain >= mixed_share {100 * params.mixed_share:.0f}% "
            f"of the {n_found:,} leaked patients found; shares: {figs}.{tail}",
        )
    return (
        "undetermined",
        f"no hypothesis reaches dominant_share {100 * params.dominant_share:.0f}% and fewer "
        f"than two reach mixed_share {100 * params.mixed_share:.0f}%; shares: {figs}.{tail}",
    )


@dataclass
class _Run:
    verdict: str
    rule: str
    windows: pd.DataFrame
    candidates: pd.DataFrame
    pathways: pd.DataFrame
    hypotheses: pd.DataFrame
    assigned: pd.DataFrame
    n_found: int


def _analyse(ctx: _Context, params: AttributionParams) -> _Run:
    windows = _windows(ctx, params)
    cand = _candidates(ctx, windows, params)
    assigned = (
        _assign(ctx, cand)
        if ctx.leak is not None
        else pd.DataFrame({"lab": [], "patient": [], "session_id": []}, dtype="string")
    )
    n_found = int(ctx.matches["leak_id"].nunique()) if ctx.leak is not None else 0
    pathways, cand = _pathways(ctx, cand, assigned, n_found)
    hyp = _hypotheses(ctx, cand, pathways, assigned, windows, n_found, params)
    verdict, rule = _verdict(ctx, hyp, assigned, windows, cand, n_found, params)
    cand = (
        cand[[c for c in _CAND_COLS if c in cand.columns]]
        if not cand.empty
        else pd.DataFrame({k: [] for k in _CAND_COLS})
    )
    return _Run(verdict, rule, windows, cand, pathways, hyp, assigned, n_found)


def _stability(ctx: _Context, params: AttributionParams, base: _Run) -> pd.DataFrame:
    rows = []
    for name, (lo, hi) in _STABILITY_PARAMS.items():
        for factor in (0.5, 2.0):
            v = getattr(params, name) * factor
            v = min(max(v, lo), hi)
            if name in ("failed_burst", "routine_days"):
                v = int(round(v))
            try:
                p = replace(params, **{name: v}, stability=False)
            except ParameterError:
                continue
            r = _analyse(ctx, p)
            top = r.hypotheses.sort_values(["share", "hypothesis"], ascending=[False, True])
            rows.append(
                {
                    "param": name,
                    "factor": factor,
                    "value": float(v),
                    "verdict": r.verdict,
                    "top_hypothesis": top["hypothesis"].iloc[0],
                    "top_share": float(top["share"].iloc[0]),
                    "agrees": r.verdict == base.verdict,
                }
            )
    return pd.DataFrame(
        rows,
        columns=["param", "factor", "value", "verdict", "top_hypothesis", "top_share", "agrees"],
    )


def _leak_summary(ctx: _Context, run: _Run) -> pd.DataFrame:
    cols = [
        "lab",
        "n_patients",
        "leaked_found",
        "leaked_share",
        "leaked_multilab",
        "explained",
        "unexplained",
        "explained_share",
        "explained_by",
        "window_confidence",
    ]
    if ctx.leak is None:
        return pd.DataFrame({c: [] for c in cols})
    m = ctx.matches
    npat = ctx.patients.groupby("lab").size()
    labs = sorted(set(npat.index.astype(str)) | set(ctx.leak["lab"].dropna().astype(str)))
    found = m.groupby("lab")["patient"].nunique()
    multi = m[m["n_labs"] > 1].groupby("lab")["patient"].nunique()
    a = run.assigned
    ex = a.groupby("lab").size() if not a.empty else pd.Series(dtype=int)
    sid_pw = dict(zip(run.candidates["session_id"], run.candidates["pathway_id"], strict=True))
    by = (
        a.assign(pw=a["session_id"].map(sid_pw))
        .groupby("lab")["pw"]
        .agg(lambda s: " | ".join(sorted(set(s.dropna().astype(str)))))
        if not a.empty
        else pd.Series(dtype=str)
    )
    conf = dict(zip(run.windows.get("lab", []), run.windows.get("confidence", []), strict=True))
    rows = []
    for lab in labs:
        f = int(found.get(lab, 0))
        e = int(ex.get(lab, 0))
        n = int(npat.get(lab, 0))
        rows.append(
            {
                "lab": lab,
                "n_patients": n,
                "leaked_found": f,
                "leaked_share": f / n if n else np.nan,
                "leaked_multilab": int(multi.get(lab, 0)),
                "explained": e,
                "unexplained": f - e,
                "explained_share": e / f if f else np.nan,
                "explained_by": by.get(lab) or None,
                "window_confidence": conf.get(lab),
            }
        )
    return pd.DataFrame(rows, columns=cols)


def attribute(
    events: pd.DataFrame,
    sessions: pd.DataFrame,
    scores: pd.DataFrame | None = None,
    *,
    leak: Any = None,
    transfers: Any = None,
    case_key: CaseKey | bytes | str | os.PathLike[str] | None = None,
    params: AttributionParams = AttributionParams(),
) -> Attribution:
    """Attribute a leak to pathways, hypotheses and a verdict.

    Parameters
    ----------
    events : pandas.DataFrame
        Canonical event table (:data:`labforensics.schema.EVENT_DTYPES`); uses
        ``ts``, ``lab``, ``account``, ``action``, ``patient``, ``src_ip``,
        ``module``, ``records``, ``detail``, ``source_file``, ``source_line`` and,
        when present, ``session_id``.
    sessions : pandas.DataFrame
        Session table (:data:`labforensics.schema.SESSION_DTYPES`).
    scores : pandas.DataFrame, optional
        Detection output keyed by ``session_id`` (column or index) with ``score``
        (higher = more anomalous) and ``rank`` (1 = most anomalous).
    leak : path, list, Series or DataFrame, optional
        Leaked identifiers (see :func:`read_leak`), or the table it returns
        (needed for NIRs with a patient index).
    transfers : DataFrame, object with ``.transfers``, or path, optional
        FTP transfer table (``ts`` UTC, ``remote_host``, ``bytes``, ``file_name``,
        ``file_base``, ``direction``, ``access_mode``, ``user``, ``completion``,
        ``source_file``, ``source_line``) or an xferlog path.
    case_key : CaseKey, bytes, hex str or path, optional
        The key the evidence was pseudonymised with (needed for raw leak IPPs).
    params : AttributionParams

    Returns
    -------
    Attribution

    Raises
    ------
    SchemaError
        A table lacks the columns used.
    AttributionError
        The leak, patient index or transfers cannot be read.
    """
    ctx = _prepare(events, sessions, scores, leak, transfers, case_key, params)
    run = _analyse(ctx, params)
    stab = (
        _stability(ctx, params, run)
        if params.stability
        else pd.DataFrame(
            {
                c: []
                for c in (
                    "param",
                    "factor",
                    "value",
                    "verdict",
                    "top_hypothesis",
                    "top_share",
                    "agrees",
                )
            }
        )
    )
    totals: dict[str, Any] = {"notes": list(ctx.notes), "verdict_rule_definition": VERDICT_RULE}
    if ctx.leak is not None:
        ids = ctx.leak["leak_id"].nunique()
        multi = ctx.matches[ctx.matches["n_labs"] > 1]["leak_id"].nunique()
        explained = (
            run.assigned.merge(ctx.matches[["lab", "patient", "leak_id"]], on=["lab", "patient"])[
                "leak_id"
            ].nunique()
            if not run.assigned.empty
            else 0
        )
        totals.update(
            {
                "leak_identifiers": int(ids),
                "leak_id_kind": sorted(set(ctx.leak["id_kind"].astype(str))),
                "found": run.n_found,
                "never_seen": len(ctx.never_seen),
                # of which: the leak names a lab absent from the evidence
                "never_seen_unknown_lab": (
                    (ctx.leak_report.get("unknown_lab") or {}).get("identifiers")
                    if ctx.leak_report
                    else None
                ),
                "found_in_several_labs": int(multi),
                "explained": int(explained),
                "explained_share": explained / run.n_found if run.n_found else None,
            }
        )
    return Attribution(
        verdict=run.verdict,
        verdict_rule=run.rule,
        hypotheses=run.hypotheses,
        windows=run.windows,
        candidates=run.candidates,
        pathways=run.pathways,
        transfers=ctx.links,
        leak_summary=_leak_summary(ctx, run),
        never_seen=ctx.never_seen,
        stability=stab,
        totals=totals,
        params=params,
        leak_report=ctx.leak_report,
    )
