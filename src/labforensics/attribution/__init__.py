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
2. **Exfiltration window per lab** (:func:`~labforensics.attribution.windows._window_one`). A patient's
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
   role, module, network); network from the case's
   :class:`~labforensics.networks.NetworkMap` (``lab``, ``vendor``, ``local``,
   ``other``, ``unknown`` for host names, and for every address when no lab
   network is given).
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
   is not an address cannot be placed and counts as outside when the lab
   networks are given; without them no address is outside) are flagged
   ``external_fetch``, with their addresses. A transfer linked to several exports
   of one name is ``credited`` to one (:func:`.linking.credit_transfers`: the
   latest write before it); only credited complete fetches count as retrieved
   (:func:`.linking.fetched_outside`). Uploads logged before the nearest export
   of their file's name (beyond the skew) are counted in a note: the transfer
   log's clock or zone may differ from the audit logs' (:mod:`.transfer_clock`);
   so are credited downloads whose size is not their upload's (:mod:`.transfer_sizes`).
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

7. **Conclusion** (:mod:`.conclusion`, issue 15): the propositions ``vendor``,
   ``insider``, ``external`` and ``outside_evidence`` weighed per lab by a
   likelihood ratio of a documented set model (:mod:`.likelihood`), with the
   coverage of the leak (:mod:`.coverage`), the window intersected with
   ``[horizon, first public sighting]``, ceilings and sensitivity reruns. The
   verdict is the conclusion's proposition; the share rule of step 6 remains as
   the ``verdict_rule`` text.

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

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._repr import short_repr
from ..case import CaseContext, case_key_of
from ..case_events import CaseEvents, as_case_events
from ..errors import AttributionError as AttributionError  # re-exported: raised by read_leak
from ..leak.horizon import as_leak_rows
from ..leak.patients import read_patient_index
from ..leak.reader import read_leak
from ..outputs import json_safe
from ..privacy import CaseKey
from ..schema import check_table, is_list_dtype, join_list
from ..scored_labs import ScoredLabs
from ..session_labs import SlimLabs
from . import activity as _activity
from . import conclusion as _concl
from .context import EVENT_NEED, SESSION_KEYS, SESSION_NEED, _as_lists, _Context, _prepare
from .coverage import registry_of, registry_of_people
from .likelihood import VERBAL_SCALE_TEXT
from .params import AttributionParams
from .propositions import HYPOTHESES, STRENGTH_SCALE, VERDICT_RULE
from .stability import _analyse, _Run, _stability
from .tie import index_pairs_of

__all__ = [
    "HYPOTHESES",
    "STRENGTH_SCALE",
    "VERDICT_RULE",
    "Attribution",
    "AttributionParams",
    "attribute",
    "read_leak",
]


@dataclass
class Attribution:
    """Result of :func:`attribute`. Every table holds pseudonyms only.

    Multi-valued cells are Arrow list columns
    (:data:`labforensics.schema.STRING_LIST`, ``[]`` when none): ``labs``,
    ``pathways``, ``src_ips``, ``output_files``, ``fetched_outside_by``,
    ``labs_retrieved_outside``, ``explained_by``; :meth:`to_dict` joins them by
    ``" | "`` (the text of ``findings.json``).

    Attributes
    ----------
    verdict : str
        The conclusion's proposition (``conclusion["proposition"]``): ``vendor``,
        ``insider``, ``external``, ``outside_evidence``, ``mixed`` or
        ``undetermined`` (no leak, or a likelihood ratio below 2: "no support", no
        source named; the proposition ranked first is ``conclusion["leading"]``). The
        former share rule's verdict is
        ``totals["share_rule_verdict"]``.
    verdict_rule : str
        The rule as applied (:data:`VERDICT_RULE`), with the figures that decided
        it and, for unexplained labs, the gap.
    hypotheses : DataFrame
        One row per hypothesis (``vendor``, ``insider``, ``external``):
        ``share`` (of leaked-and-found patients; of anomalous volume without a
        leak), ``patients_explained``, ``n_labs``, ``labs`` (list),
        ``n_pathways``, ``pathways`` (list of ids), ``fit`` (patient-weighted mean fit),
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
        (lab, patient) pairs the leak gives that lab, found or not), ``size_ratio``
        (records / leak_ids_lab), ``rank_value``, ``touched_leaked``, ``score``,
        ``score_rank``, ``patients_lab``, ``anomalous_volume``,
        ``failed_logins_before``, ``failed_burst``, ``new_source`` (an address
        the account had never used there), ``concurrent_sessions``,
        ``hypothesis``, ``pathway_id``, ``explains`` (leaked patients credited),
        ``output_files`` (list), ``retrieved_outside``, ``fetched_outside_by`` (list of
        remote hosts),
        ``n_evidence_rows``, ``evidence`` (``source_file:source_line`` list).
    pathways : DataFrame
        ``pathway_id`` (``PW001`` = top), ``hypothesis``, ``account_kind``,
        ``account``, ``role``, ``module``, ``network``, ``n_labs``, ``labs``,
        ``n_sessions``, ``records``, ``leaked_explained``, ``share``, ``first``,
        ``last``, ``span_h``, ``max_score``, ``anomalous_volume``,
        ``volume_share``, ``failed_bursts``, ``labs_retrieved_outside`` (list),
        ``signature``. Ranked by leaked patients explained, then anomalous volume.
    transfers : DataFrame
        One row per (extraction, transfer of its output file): ``session_id``,
        ``lab``, ``account``, ``extraction_ts``, ``extraction_source``,
        ``file_base``, ``transfer_ts``, ``delay_h``, ``direction``,
        ``remote_host``, ``network``, ``access_mode``, ``user``, ``bytes``,
        ``completion``, ``anonymous``, ``outside``, ``external_fetch``, ``credited``
        (bool: the one row of the transfer that credits it),
        ``source_file``, ``source_line`` (of the xferlog line).
    leak_summary : DataFrame
        One row per lab of the evidence or the leak: ``n_patients``,
        ``leaked_found``, ``leaked_share``, ``leaked_multilab``, ``explained``,
        ``unexplained``, ``explained_share``, ``explained_by`` (list of pathway ids),
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
    conclusion : dict or None
        :func:`labforensics.attribution.conclusion.conclude`'s result:
        ``proposition``, ``log10_lr``, ``likelihood_ratio``, ``verbal`` (ENFSI),
        ``alternative``, ``window`` (per lab), ``coverage`` (lines summing to the
        leaked total), ``reason``, ``per_lab`` (the same per lab, with its
        operations and alternatives), ``not_weighed``, ``sensitivity`` (reruns
        over the model's assumptions), ``limits``, ``verbal_scale``.
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
    conclusion: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return short_repr(
            "Attribution",
            {"hypotheses": self.hypotheses, "windows": self.windows,
             "pathways": self.pathways, "transfers": self.transfers},
            {"verdict": self.verdict, "candidates": len(self.candidates)},
        )  # fmt: skip

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
            "hypotheses": _as_text(self.hypotheses, empty=""),
            "windows": self.windows,
            "candidates": _as_text(self.candidates),
            "pathways": _as_text(self.pathways),
            "transfers": self.transfers,
            "leak_summary": _as_text(self.leak_summary),
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
            "conclusion": {k: v for k, v in (self.conclusion or {}).items() if k != "per_lab"},
            "per_lab": (self.conclusion or {}).get("per_lab", []),
        }
        return json_safe(out, ndigits=ndigits)


def _as_text(df: pd.DataFrame, empty: str | None = None) -> pd.DataFrame:
    """``df`` with its list columns joined by ``" | "`` (``empty`` for an empty list):
    the text of ``findings.json``."""
    out = df.copy()
    for c in out.columns:
        if is_list_dtype(out[c].dtype):
            out[c] = join_list(out[c]).astype(object).where(lambda s: s.notna(), empty)
    return out


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
        .agg(lambda s: sorted(set(s.dropna().astype(str))))
        if not a.empty
        else pd.Series(dtype=object)
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
                "explained_by": by.get(lab) or [],
                "window_confidence": conf.get(lab),
            }
        )
    out = pd.DataFrame(rows, columns=cols)
    out["explained_by"] = _as_lists(out["explained_by"])
    return out


def attribute(
    events: pd.DataFrame | CaseEvents,
    sessions: pd.DataFrame | SlimLabs,
    scores: pd.DataFrame | ScoredLabs | None = None,
    *,
    leak: Any = None,
    transfers: Any = None,
    case_key: CaseKey | bytes | str | os.PathLike[str] | None = None,
    params: AttributionParams | None = None,
    case: CaseContext | None = None,
    patients: Any = None,
    session_rows: Callable[[pd.Series], pd.DataFrame] | None = None,
    exports: pd.DataFrame | None = None,
) -> Attribution:
    """Attribute a leak to pathways, hypotheses and a verdict.

    Parameters
    ----------
    events : pandas.DataFrame or labforensics.case_events.CaseEvents
        Canonical event table (:data:`labforensics.schema.EVENT_DTYPES`, evidence
        order), or the case's events held lab by lab (a table is split by lab with
        :func:`~labforensics.case_events.as_case_events`); uses ``ts``,
        ``lab``, ``account``, ``action``, ``patient``, ``src_ip``, ``module``,
        ``records``, ``detail``, ``source_file``, ``source_line`` and, when present,
        ``session_id``.
    sessions : pandas.DataFrame or labforensics.session_labs.SlimLabs
        Session table (:data:`labforensics.schema.SESSION_DTYPES`), or its slim table
        kept a file a lab (with ``session_rows``): the sessions that moved records
        are read lab by lab, and each leaked lab's sessions when its turn comes in the
        conclusion, never the case's whole.
    scores : pandas.DataFrame or ScoredLabs, optional
        Detection output keyed by ``session_id`` (column or index) with ``score``
        (higher = more anomalous) and ``rank`` (1 = most anomalous); or the slim scores
        kept a file a lab (:class:`~labforensics.scored_labs.ScoredLabs`), of which the
        rows of the sessions that moved records are read.
    leak : path, list, Series, DataFrame or LeakLinkage, optional
        Leaked identifiers (see :func:`read_leak`), or the table it returns
        (needed for NIRs with a patient index); or a linked dump
        (:class:`labforensics.leak.horizon.LeakLinkage`, from
        :func:`labforensics.leak.horizon.link_leak`), whose linked rows become
        the leaked (lab, patient) set (``id_kind`` ``"linked"``, ``date`` the
        sample date).
        A dump given as paths (files or a folder) is linked to ``patients``
        first (:func:`labforensics.leak.horizon.as_leak_rows`).
    transfers : DataFrame, object with ``.transfers``, or path, optional
        FTP transfer table (``ts`` UTC, ``remote_host``, ``bytes``, ``file_name``,
        ``file_base``, ``direction``, ``access_mode``, ``user``, ``completion``,
        ``source_file``, ``source_line``) or an xferlog path.
    case_key : CaseKey, bytes, hex str or path, optional
        The key the evidence was pseudonymised with (needed for raw leak IPPs).
    params : AttributionParams, optional
        The knobs; ``AttributionParams()`` when omitted.
    patients : path, paths, PatientIndex or DataFrame, optional
        The labs' patient indexes (files, a
        :class:`~labforensics.leak.patients.PatientIndex` or its ``people``), to link
        a dump given as paths; with a list of identifiers, their registration dates
        date each indexed patient's ``known_at`` (the earlier of it and the first
        event), as a linked dump's index does, instead of the left-censored first
        event alone (:mod:`.conclusion`, "left-censoring").
    case : CaseContext, optional
        The case's facts: ``networks`` (session networks, outside transfers),
        ``lab_aliases`` (FINESS in the leak) and ``tz`` (an xferlog given as a
        path); ``CaseContext()`` when omitted (no networks: every non-local address
        ``unknown``, never outside).
    session_rows : callable, optional
        ``session_rows(ids)``: the whole rows (every column of ``sessions``' table, its
        dtypes) of the sessions ``ids`` (a ``Series`` of ``session_id``), in that order
        (:meth:`labforensics.session_files.SessionFile.rows`). When given, the sessions
        that moved records are read with it, and ``sessions`` needs only
        ``SESSION_KEYS`` (:data:`~labforensics.attribution.context.SESSION_KEYS`), the
        columns read of every session: a run that holds a slim session table
        (:mod:`labforensics.session_files`) gets the attribution of the whole one.
    exports : pandas.DataFrame, optional
        Every export and extraction with its authorisation-register status
        (``exports.parquet``: ``session_id``, ``lab``, ``status``;
        :func:`labforensics.authorisation.status.assess_exports`). With a register, each
        operation's status is weighed as activity-level evidence apart from the leak's
        content (:mod:`.activity`); without it, or with every status ``unknown``, the
        conclusion weighs the content only.

    Returns
    -------
    Attribution

    Raises
    ------
    labforensics.errors.MissingColumnsError
        (a ``SchemaError``) when ``events`` lacks a column of
        :data:`~labforensics.attribution.context.EVENT_NEED`, ``sessions`` one of
        ``SESSION_NEED`` (``SESSION_KEYS`` with ``session_rows``) or ``scores`` its
        ``score`` (every missing column named).
    AttributionError
        The leak, patient index or transfers cannot be read.

    Notes
    -----
    Memory (issue 17): the events are read one lab at a time (three passes: the
    outbound events, the per-lab facts, the leaked labs' patient events for the
    conclusion), each lab widened for the columns read only; what is kept has one
    row per outbound event, (lab, patient) first seen, (lab, account, address) of the
    exporting accounts or (session, patient) of the exporting sessions, never one row
    per event of the case. A ``DataFrame`` given is split by lab first (a copy of it).
    """
    if isinstance(events, CaseEvents):
        check_table(pd.DataFrame(columns=events.columns), EVENT_NEED, "attribute: events")
    else:
        check_table(events, EVENT_NEED, "attribute: events")
        events = as_case_events(events)
    check_table(sessions.template if isinstance(sessions, SlimLabs) else sessions,
                SESSION_NEED if session_rows is None else SESSION_KEYS,
                "attribute: sessions")  # fmt: skip
    if scores is not None:
        check_table(scores.template if isinstance(scores, ScoredLabs) else scores, ("score",),
                    "attribute: scores")  # fmt: skip
    params = params or AttributionParams()
    case = case or CaseContext()
    case_key = case_key_of(case_key, case)
    given = leak
    leak = as_leak_rows(leak, patients, case=case, case_key=case_key)  # a dump: linked
    registry = registry_of(given)
    index_pairs = people = None
    if leak is given and leak is not None and patients is not None:
        # a list: the indexes date its labs' patients and place its lab-less identifiers
        people = _index_people(patients, case, case_key)
        if registry is None:
            registry = registry_of_people(people)
        index_pairs = pd.DataFrame({"lab": people["lab"].astype("string"),
                                    "patient": people["record_id"].astype("string")})  # fmt: skip
    ctx = _prepare(events, sessions, scores, leak, transfers, case_key, params, case,
                   session_rows, index_pairs)  # fmt: skip
    run = _analyse(ctx, params)
    stab = (
        _stability(ctx, params, run)
        if params.stability
        else pd.DataFrame({c: [] for c in _STABILITY_COLS})
    )
    totals = _totals(ctx, run)
    conc = _conclusion(ctx, run, events, sessions, params, given, case, registry,
                       index_pairs_of(given, people), exports)  # fmt: skip
    totals["share_rule_verdict"] = run.verdict  # the former verdict (VERDICT_RULE), for reference
    return Attribution(
        verdict=conc["proposition"],
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
        conclusion=conc,
    )


def _conclusion(
    ctx: _Context,
    run: _Run,
    events: CaseEvents,
    sessions: pd.DataFrame,
    params: AttributionParams,
    given: Any,
    case: CaseContext,
    registry: pd.DataFrame | None,
    indexed: pd.DataFrame | None = None,
    exports: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """The conclusion (:mod:`.conclusion`) with its sensitivity and limits; ``exports``:
    the statuses weighed as activity-level evidence (:mod:`.activity`); ``registry``:
    the patient index's (lab, patient, created) (:func:`.coverage.registry_of`), or None;
    ``indexed``: every (lab, patient) of the indexes (:func:`.tie.index_pairs_of`)."""
    summary = getattr(given, "summary", None) if hasattr(given, "leak_rows") else None
    sighted = case.sighted_at
    if sighted is None and summary and summary.get("sighted_at"):
        sighted = pd.Timestamp(summary["sighted_at"])
    links = getattr(given, "links", None) if summary is not None else None
    prep = (
        _concl.prepare(
            ctx, run, events, sessions, params, registry, summary, links, sighted, indexed
        )  # fmt: skip
        if ctx.leak is not None
        else None
    )
    if prep is not None:
        _activity.attach(prep, _registered(exports))
        prep["tz"] = case.tz  # the local days of the horizon (conclusion._late_at_horizon)
    conc = _concl.conclude(prep, params)
    conc["sensitivity"] = _concl.sensitivity(prep, params, conc) if params.stability else None
    conc["limits"] = _concl.limits(prep, conc, ctx)
    conc["verbal_scale"] = VERBAL_SCALE_TEXT
    return conc


def _registered(exports: pd.DataFrame | None) -> pd.DataFrame | None:
    """The exports when a register assessed any (a status other than ``unknown``), else
    None: without a register the conclusion weighs the content only."""
    if exports is None or exports.empty or "status" not in exports.columns:
        return None
    return exports if (exports["status"].astype(str) != "unknown").any() else None


def _index_people(patients: Any, case: CaseContext, case_key: Any) -> pd.DataFrame:
    """The people of the patient indexes given with a list of identifiers (``lab``,
    ``record_id``: the patient pseudonym, ``created``): files read with the case's column
    mappings, or a ``PatientIndex`` or its people."""
    people = getattr(patients, "people", patients)
    if not isinstance(people, pd.DataFrame):
        maps = list(case.leak_mappings) or None
        people = read_patient_index(patients, case, maps, case_key=case_key).people
    return people


#: Columns of :attr:`Attribution.stability`.
_STABILITY_COLS = ("param", "factor", "value", "verdict", "top_hypothesis", "top_share", "agrees")


def _totals(ctx: _Context, run: _Run) -> dict[str, Any]:
    """Leak totals and notes of :attr:`Attribution.totals`."""
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
    return totals
