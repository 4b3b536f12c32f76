"""The engines: the same per-lab functions run in this process or as Dask tasks.

:func:`run_labs` is the one orchestration both engines follow, written against two
primitives (``map`` a function over per-lab handles, ``gather`` small results back):
:class:`LocalEngine` calls the functions in this process, lab after lab;
:class:`~labforensics.engine.dask.DaskEngine` submits them as tasks
(``dask.distributed``), one per lab, the results staying on the workers until
gathered. Both therefore compute the same thing in the same order, which is what makes
their outputs byte-identical.

Passes (``L`` labs, each step one task per lab unless said):

1. :func:`~labforensics.engine.lab.lab_stage`: read the lab (from the store, on the
   worker), sessions, exports, features; hand up the peer-role summaries and the row
   counts (small). A lab whose events exceed ``memory_budget`` runs in account batches
   on the same worker (:func:`~labforensics.engine.batches.lab_stage_batched`), with the
   same result.
2. On the client: merge the summaries (exact), and run the authorisation tickets'
   record sums over every lab's kept pairs (small: the operations under a row with a
   record limit; :func:`~labforensics.authorisation.ticket_budget.global_ticket_sums`).
3. :func:`~labforensics.engine.lab.apply_peer_summaries`: the cross-lab peer baselines;
   first, in the labs whose ticket sums the other labs change,
   :func:`~labforensics.engine.lab.apply_ticket_budget` (their statuses and
   authorisation features chosen again).
4. Stratified sample of each lab's feature rows (:mod:`labforensics.engine.model`);
   gathered; the detector model fitted on the client.
5. Each lab scored with the model (rules, inherited session rules, reasons). Over the
   ``memory_budget``, each lab's scored rows go to files as the lab is scored (on Dask:
   gathered one lab at a time) and only the ranking's columns are kept
   (:mod:`~labforensics.engine.score_spill`).
6. On the client: the global ranking, the reasons kept for flagged and top-ranked
   rows (over the budget: ranked from the kept columns, the scored tables written from
   the labs' files in rank order), and the labs' sessions and exports concatenated in
   evidence order for the whole-case stages (campaigns, attribution, the report); the
   events gathered one lab at a time and kept per lab
   (:class:`~labforensics.case_events.CaseEvents`).
"""

from __future__ import annotations

import pickle
import shutil
import tempfile
import warnings
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .._cleanup import sigterm_raises
from ..authorisation.ticket_budget import BUDGET_COLUMNS, global_ticket_sums
from ..case_events import CaseEvents
from ..detect import DetectParams, Scores
from ..errors import LabForensicsError, ParameterError
from ..features.explained_summary import explanation_summary
from ..progress import lab_progress, progress_bar
from ..sessions import SessionParams, Sessions
from .batches import EVENT_BYTES, account_batches, account_counts, lab_stage_batched
from .combine import concat_exports, first_event_seq, order_sessions
from .lab import (
    UNITS,
    LabPart,
    LabSettings,
    apply_peer_summaries,
    apply_ticket_budget,
    lab_family,
    lab_stage,
    merge_family,
    merge_summaries,
)
from .model import fit_models, lab_sample, sample_allocation, score_lab, scores_from_labs
from .partitions import release_memory
from .score_spill import ScoreSpill
from .session_merge import LabSessions

__all__ = [
    "ENGINES",
    "EVENT_BYTES",
    "EngineResult",
    "LabRun",
    "LocalEngine",
    "MemoryBudgetWarning",
    "PART_BYTES",
    "Spilled",
    "labs_over_budget",
    "make_engine",
    "run_labs",
]

#: The engines :func:`make_engine` knows.
ENGINES: tuple[str, ...] = ("local", "dask")


#: Bytes one event's results take while a lab waits between passes (its events
#: dictionary-encoded, its sessions' features): measured 390 on the vendor-migration
#: fixture (92 events, 298 features), about 280 on a generated case of 1,112,728 events
#: (85 and ~190). Above ``memory_budget`` in all, the labs wait in files
#: (:meth:`LocalEngine.spill`).
PART_BYTES = 400


class MemoryBudgetWarning(UserWarning):
    """A lab's events alone are larger than the ``memory_budget`` given."""


def size_text(n_bytes: float, exact: bool = False) -> str:
    """A size for a person: bytes below 1 KiB, else KiB, MiB or GiB to one decimal, with
    thousands separators ("1 byte", "900 bytes", "1.5 KiB", "3,072.0 GiB").

    Parameters
    ----------
    n_bytes : int or float
        The size in bytes (rounded to a whole byte).
    exact : bool, default False
        Also give the exact count of bytes in parentheses, above 1 KiB
        ("1.9 GiB (2,000,000,000 bytes)"): a budget the user gave in bytes.

    Returns
    -------
    str
    """
    n = int(round(float(n_bytes)))
    if abs(n) < 1024:
        return f"{n:,} byte" + ("" if n == 1 else "s")
    k = 3 if abs(n) >= 1024**3 else 2 if abs(n) >= 1024**2 else 1
    if k < 3 and round(abs(n) / 1024**k, 1) >= 1024:  # 1,048,575 bytes: "1.0 MiB"
        k += 1
    text = f"{n / 1024**k:,.1f} {('KiB', 'MiB', 'GiB')[k - 1]}"
    return text + (f" ({n:,} bytes)" if exact else "")


def labs_over_budget(sizes: dict[Any, int], budget: int | None) -> dict[str, int]:
    """The labs whose first pass, run whole, would exceed ``budget`` (bytes).

    Parameters
    ----------
    sizes : dict
        Lab (None: the events naming no lab) -> its number of events.
    budget : int or None
        The memory budget in bytes; None: no lab is over.

    Returns
    -------
    dict of str to int
        Lab name (``"(no lab)"`` for None) -> estimated bytes (events x
        :data:`~labforensics.engine.batches.EVENT_BYTES`, what a lab's first pass holds
        an event), for the labs above the budget, in the order given.
    """
    if budget is None:
        return {}
    est = {("(no lab)" if k is None else str(k)): int(n) * EVENT_BYTES for k, n in sizes.items()}
    return {k: v for k, v in est.items() if v > budget}


class EngineTerminated(LabForensicsError):
    """The per-lab run received ``SIGTERM``; raised so that its spill folder is removed
    (:func:`labforensics._cleanup.sigterm_raises`), then the signal is delivered again."""


class Spilled:
    """A lab's :class:`~labforensics.engine.lab.LabPart` kept in a file between passes.

    Written with :mod:`pickle` (the exact objects back: same values, dtypes and order) in
    the engine's private spill folder, read again by the next pass over the lab.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def store(self, part: LabPart) -> Spilled:
        with open(self.path, "wb") as f:
            pickle.dump(part, f, protocol=pickle.HIGHEST_PROTOCOL)
        return self

    def load(self) -> LabPart:
        with open(self.path, "rb") as f:
            return pickle.load(f)  # the engine's own file, written just before


class LocalEngine:
    """Runs each per-lab function in this process, lab after lab.

    One lab's events are held at a time while its first pass runs (account batches inside
    a lab larger than the ``memory_budget`` are not built: :class:`LabRun` warns of such
    labs before running them). With :meth:`spill` on, each lab's results
    (:class:`~labforensics.engine.lab.LabPart`: its events dictionary-encoded, sessions,
    exports, features) wait in a file between passes instead of in memory, so the passes
    hold one lab at a time; the folder (``tempfile.mkdtemp``: readable by this user only)
    is removed by :meth:`release` and :meth:`close`.
    """

    name = "local"

    def __init__(self) -> None:
        self.spill_dir: Path | None = None
        self._n = 0

    def spill(self) -> Path:
        """Keep the labs' results in files between passes from now on; the folder."""
        if self.spill_dir is None:
            self.spill_dir = Path(tempfile.mkdtemp(prefix="labforensics-spill-"))
        return self.spill_dir

    def _keep(self, handle: Any, result: Any) -> Any:
        if self.spill_dir is None or not isinstance(result, LabPart):
            return result
        if not isinstance(handle, Spilled):
            self._n += 1
            handle = Spilled(self.spill_dir / f"part-{self._n}.pkl")
        return handle.store(result)

    def map(self, fn: Callable[..., Any], items: Sequence[Any], *args: Any) -> list[Any]:
        out = []
        for x in items:
            r = fn(x.load() if isinstance(x, Spilled) else x, *args)
            out.append(self._keep(x, r))
            del r
        return out

    def gather(self, handles: Sequence[Any]) -> list[Any]:
        return [h.load() if isinstance(h, Spilled) else h for h in handles]

    def release(self, handles: Sequence[Any]) -> None:
        for h in handles:
            if isinstance(h, Spilled):
                h.path.unlink(missing_ok=True)

    def close(self) -> None:
        if self.spill_dir is not None:
            shutil.rmtree(self.spill_dir, ignore_errors=True)
            self.spill_dir = None


def make_engine(name: str = "local", scheduler: str | None = None,
                memory_budget: int | None = None) -> Any:  # fmt: skip
    """The engine by name: ``"local"``, or ``"dask"`` on ``scheduler`` (an address such as
    ``tcp://host:8786``; None starts a two-worker ``LocalCluster`` whose workers share
    ``memory_budget`` and spill above it: :mod:`labforensics.engine.dask`). Close it when
    done.

    Raises
    ------
    ParameterError
        On an unknown engine name, or ``"dask"`` when dask.distributed is not installed.
    """
    if name == "local":
        if scheduler is not None:
            raise ParameterError("a scheduler address is for engine='dask' only")
        return LocalEngine()
    if name == "dask":
        from .dask import DaskEngine

        return DaskEngine(scheduler, memory_budget=memory_budget)
    raise ParameterError(f"engine must be one of {', '.join(ENGINES)}, not {name!r}")


@dataclass
class EngineResult:
    """The per-lab stages' results, put back together.

    Attributes
    ----------
    sessions : pandas.DataFrame or labforensics.session_labs.SlimLabs
        Every lab's sessions (:data:`labforensics.schema.SESSION_DTYPES`), in the order
        of :func:`labforensics.sessionize` (``start``, then the ``seq`` of the first event);
        with :meth:`LabRun.collect`'s ``by_lab``, their slim table kept a file a lab.
    exports : pandas.DataFrame
        Every export and extraction with its status, in evidence order.
    scores : Scores
        Ranked scored tables (as :func:`labforensics.score` returns them) and metadata,
        including ``metadata["engine"]`` (engine, labs, sample sizes per unit).
    labs : list
        The labs, in processing order.
    events : CaseEvents
        Every lab's events with ``session_id``, held lab by lab
        (:mod:`labforensics.case_events`).
    params : SessionParams
        The sessions' parameters.
    session_file : labforensics.session_files.SessionFile or None
        With :meth:`LabRun.collect`'s ``sessions_dir``: the whole session table's file
        there, ``sessions`` being its slim table
        (:func:`~labforensics.session_files.slim_sessions`); else None (``sessions``
        whole).
    """

    sessions: pd.DataFrame | Any  # SlimLabs with collect's by_lab
    exports: pd.DataFrame
    scores: Scores
    labs: list[str | None]
    events: CaseEvents
    params: SessionParams
    session_file: Any = None

    def whole_sessions(self) -> Sessions:
        """The sessions with every event at once (:meth:`CaseEvents.to_frame`): what
        :func:`labforensics.sessionize` of the whole case returns; small cases only."""
        return Sessions(sessions=self.sessions, events=self.events.to_frame(), params=self.params)


def _first(partition: Any, settings: LabSettings, budget: int | None = None) -> LabPart:
    if budget is not None and len(partition) * EVENT_BYTES > budget:  # account batches
        return lab_stage_batched(partition, partition.lab, settings, budget,
                                 event_bytes=EVENT_BYTES)  # fmt: skip
    events = partition()
    if hasattr(partition, "release"):  # events held in memory: the part holds them now
        partition.release()
    return lab_stage(events, partition.lab, settings)


def _meta(part: LabPart) -> dict[str, Any]:
    budget = None if part.budget is None else part.budget[list(BUDGET_COLUMNS)]
    notes = part.features.notes
    return {"lab": part.lab, "counts": part.counts(), "summaries": part.summaries,
            "n_sessions": len(part.sessions.sessions), "n_events": part.n_events,
            "family": lab_family(part.features), "n_batches": part.n_batches,
            "budget": budget,
            # the explanation's window and routine rate, stated in findings and the report
            "explained": explanation_summary(notes.get("explain_labs"),
                                             notes.get("explain_window"))}  # fmt: skip


def _peer(part: LabPart, summaries: dict[str, pd.DataFrame], settings: LabSettings,
          family: dict[str, int] | None = None,
          sums: dict[Any, pd.DataFrame] | None = None) -> LabPart:  # fmt: skip
    if sums and part.lab in sums:  # a ticket's record sum over every lab
        part = apply_ticket_budget(part, sums[part.lab], settings)
    part.features = apply_peer_summaries(part.features, summaries, settings.features, family)
    return part


def _sample(part: LabPart, alloc: dict[Any, dict[str, int]], seed: int) -> dict[str, Any]:
    return lab_sample(part.features, alloc[part.lab], part.lab, seed)


def _score_into(part: LabPart, models: dict[str, Any], det: DetectParams, case: Any,
                spill: ScoreSpill) -> None:  # fmt: skip
    spill.add(score_lab(part, models, det, case))  # the lab's rows into files, here


def _collect(part: LabPart) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    # the lab's sessions, its events (dictionary-encoded, with session_id) and exports
    return part.sessions.sessions, part.sessions.events, part.exports


class LabRun:
    """:func:`run_labs` step by step, so the pipeline can time each pass as a stage.

    ``first()`` (sessions, exports, features per lab: returns the number of sessions),
    ``peer()`` (the cross-lab peer baselines), ``detect()`` (the model and the scores:
    returns :class:`~labforensics.detect.Scores`), ``collect()`` (the labs' sessions and
    exports put back together: returns :class:`EngineResult`).
    """

    def __init__(self, partitions: Sequence[Any], settings: LabSettings,
                 detection: DetectParams, engine: Any = None, progress: bool = False,
                 memory_budget: int | None = None) -> None:  # fmt: skip
        self.progress = progress
        self.memory_budget = memory_budget
        self.over_budget: dict[str, int] = {}
        #: per lab over the budget, its account batches (:func:`account_batches`)
        self.batches: dict[str, int] = {}
        #: per lab with an account whose events alone exceed the budget: its largest
        #: account's estimated bytes (such an account is a batch of its own)
        self.accounts_over: dict[str, int] = {}
        #: whether the case's events should wait in files after the engine (``collect``'s
        #: ``events_dir``): every lab's results exceed ``memory_budget``, whichever engine
        self.events_to_files = False
        self.partitions = partitions
        self.settings = settings
        self.detection = detection
        self.eng = engine or LocalEngine()
        self.parts: list[Any] = []
        self.meta: list[dict[str, Any]] = []
        #: the labs whose statuses the tickets' record sums over every lab changed
        #: (:meth:`peer`)
        self.budget_labs: list[Any] = []
        self.scores: Scores | None = None
        #: unit -> its scored table's file, when :meth:`detect` wrote them (else empty)
        self.score_files: dict[str, Path] = {}

    def _map(self, stage: str, labs: Sequence[Any], fn: Callable[..., Any],
             items: Sequence[Any], *args: Any) -> list[Any]:  # fmt: skip
        """``eng.map`` with a per-lab bar (issue 16 item 6) when the labs run here, one
        after the other; a Dask engine's tasks run at once on the workers (no bar)."""
        if not isinstance(self.eng, LocalEngine):
            return self.eng.map(fn, items, *args)
        names = [str(lab) if lab is not None else "(no lab)" for lab in labs]
        out = []
        with lab_progress(stage, names, self.progress) as step:
            for x, name in zip(items, names, strict=True):
                out.extend(self.eng.map(fn, [x], *args))
                if self.eng.spill_dir is not None:  # the lab's freed memory back first
                    release_memory()
                step(name)
        return out

    def first(self) -> int:
        labs = [getattr(p, "lab", None) for p in self.partitions]
        self._check_budget(labs)
        self.parts = self._map("sessions", labs, _first, self.partitions, self.settings,
                               self.memory_budget)  # fmt: skip
        self.partitions = []  # a lab's events, once passed on, are held by its part only
        self.meta = self.eng.gather(self.eng.map(_meta, self.parts))
        return sum(m["n_sessions"] for m in self.meta)

    def _check_budget(self, labs: list[Any]) -> None:
        """Before running: the labs whose events alone exceed ``memory_budget``
        (``over_budget``, recorded in ``scores.metadata["engine"]``) are processed in
        account batches (:func:`~labforensics.engine.batches.lab_stage_batched`; their
        count per lab in ``batches``); a warning (:class:`MemoryBudgetWarning`) only
        when an account's events alone exceed it (``accounts_over``): an account is
        never cut, so its batch needs several times its events. When every lab's results
        (:data:`PART_BYTES` an event) would exceed the budget, the local engine keeps
        them in files between passes (:meth:`LocalEngine.spill`)."""
        sizes = {lab: len(p) for lab, p in zip(labs, self.partitions, strict=True)}
        self.over_budget = labs_over_budget(sizes, self.memory_budget)
        budget = self.memory_budget
        for lab, p in zip(labs, self.partitions, strict=True):
            name = lab if lab is not None else "(no lab)"
            if budget is None or name not in self.over_budget:
                continue
            counts = account_counts(p)  # one column of the lab
            self.batches[name] = len(account_batches(counts, max(1, budget // EVENT_BYTES)))
            big = int(counts.max()) * EVENT_BYTES if len(counts) else 0
            if big > budget:
                self.accounts_over[name] = big
        held = sum(sizes.values()) * PART_BYTES
        self.events_to_files = self.memory_budget is not None and held > self.memory_budget
        if self.events_to_files:
            if isinstance(self.eng, LocalEngine):  # the labs wait in files between passes
                # never left behind: removed with the engine when nobody closes it (a
                # LabRun made without an engine, a caller that forgot close()), at the
                # latest when the interpreter exits; close() removes it first as before
                weakref.finalize(self.eng, shutil.rmtree, self.eng.spill(), ignore_errors=True)
        if self.accounts_over:
            # for a person (the command prints it as one "labforensics: warning:" line)
            listed = ", ".join(
                f"{k} ~{size_text(self.over_budget[k])} in {self.batches[k]:,} account "
                f"batches, its largest account ~{size_text(v)}"
                for k, v in self.accounts_over.items()
            )
            warnings.warn(
                f"the memory budget of {size_text(budget, exact=True)} is below the events "
                f"of one account alone in {len(self.accounts_over):,} lab(s) ({listed}; "
                f"estimated at {EVENT_BYTES:,} bytes an event): a lab above the budget is "
                "cut into account batches, but an account is never cut, so a batch of an "
                "account above the budget alone may need several times that memory; give a "
                "larger memory budget, or run on a machine with more memory",
                MemoryBudgetWarning,
                stacklevel=3,
            )

    def peer(self) -> int:
        """The second pass: the cross-lab peer baselines and Bonferroni family, and the
        authorisation tickets' record sums over every lab (the labs they change have
        their statuses and authorisation features chosen again: :attr:`budget_labs`).
        Returns the number of labs whose summaries make the peer baselines."""
        summaries = merge_summaries([m["summaries"] for m in self.meta])
        family = merge_family([m["family"] for m in self.meta])
        sums = global_ticket_sums({m["lab"]: m.get("budget") for m in self.meta})
        self.budget_labs = list(sums)
        for m in self.meta:  # read once: not kept
            m.pop("budget", None)
        self.parts = self._map("features", [m["lab"] for m in self.meta], _peer, self.parts,
                               summaries, self.settings, family, sums)  # fmt: skip
        return len(self.meta)

    def detect(self, folder: Path | None = None) -> Scores:
        """The detector model fitted on every lab's sample, every lab scored and ranked.

        Parameters
        ----------
        folder : pathlib.Path, optional
            The run's private folder. When given and the run keeps its labs in files
            (:attr:`events_to_files`), each lab's scored rows go to files there as the lab
            is scored, and the scored tables are written there from them
            (:class:`~labforensics.engine.score_spill.ScoreSpill`): :attr:`score_files`
            names them, and the scores returned hold the slim session table only (as
            :func:`~labforensics.score_files.set_aside` leaves them). Else every lab's
            rows are ranked in memory and the scores hold the whole tables.

        Returns
        -------
        Scores
        """
        det, seed = self.detection, self.settings.case.seed
        alloc = sample_allocation({m["lab"]: m["counts"] for m in self.meta}, det)
        samples = self.eng.gather(self.eng.map(_sample, self.parts, alloc, seed))
        with progress_bar(total=len(UNITS) * len(det.detectors), desc="detectors",
                          unit="detector", enabled=bool(self.progress),
                          mininterval=0) as bar:  # fmt: skip

            def step(unit: str, name: str) -> None:
                bar.set_postfix_str(f"{unit} {name}", refresh=False)
                bar.update(1)

            models = fit_models(samples, det, self.settings.case, step)
        labs = [m["lab"] for m in self.meta]
        if folder is not None and self.events_to_files:  # each lab's rows into files
            scores, self.score_files = self._detect_to_files(folder, labs, models)
        else:
            scored = self.eng.gather(self._map("detection", labs, score_lab, self.parts,
                                               models, det, self.settings.case))  # fmt: skip
            scores = scores_from_labs(scored, models, det, self.settings.case)
            del scored
        scores.metadata["engine"] = {
            "labs": [m["lab"] if m["lab"] is not None else "(no lab)" for m in self.meta],
            "fit_sample_rows": {u: {str(k): v[u] for k, v in alloc.items()} for u in models},
            "memory_budget": self.memory_budget,
            "over_budget": dict(self.over_budget),
            "batches": {
                (m["lab"] if m["lab"] is not None else "(no lab)"): m["n_batches"]
                for m in self.meta
            },  # fmt: skip
            "spilled": getattr(self.eng, "spill_dir", None) is not None,
        }
        scores.metadata["explained_accesses"] = sorted(
            (r for m in self.meta for r in m.get("explained", ())), key=lambda r: r["lab"]
        )
        self.scores = scores
        return scores

    def _detect_to_files(self, folder: Path, labs: list[Any], models: dict[str, Any]
                         ) -> tuple[Scores, dict[str, Path]]:  # fmt: skip
        """Every lab scored, its rows written to files as they come (:class:`ScoreSpill`),
        then ranked and written as the scored tables. Here, each lab is scored and written
        in turn; on Dask, the labs are scored as tasks and gathered one at a time."""
        spill = ScoreSpill(folder)
        det, case = self.detection, self.settings.case
        if isinstance(self.eng, LocalEngine):
            self._map("detection", labs, _score_into, self.parts, models, det, case, spill)
        else:
            for handle in self.eng.map(score_lab, self.parts, models, det, case):
                (scored,) = self.eng.gather([handle])
                self.eng.release([handle])
                spill.add(scored)
                del scored
        return spill.finish(models, det, case)

    def collect(self, events_dir: Path | None = None, sessions_dir: Path | None = None,
                by_lab: bool = False) -> EngineResult:  # fmt: skip
        """The labs' results put back together, lab after lab (:class:`EngineResult`).

        Sessions and exports are concatenated in evidence order; the events stay per lab
        (:class:`~labforensics.case_events.CaseEvents`), dictionary-encoded, in
        memory or, with ``events_dir``, in Arrow IPC files there (the caller's private
        folder, which must outlive the result's use and be removed by the caller). One
        lab's results are gathered at a time, so the whole events table is never held.

        With ``sessions_dir`` (the run's private folder), each lab's session table is
        written to a file there as gathered and only its slim table kept
        (:class:`~labforensics.engine.session_merge.LabSessions`); the result's
        ``sessions`` is then the slim table of the whole one, which is never held, and
        its ``session_file`` the whole one's ``sessions.parquet`` there, merged from the
        labs' files (the bytes :func:`~labforensics.session_files.set_aside_sessions`
        writes of the whole table). With ``by_lab`` too, the slim table is not held
        either: each lab's goes to a file there as gathered, and ``sessions`` is a
        :class:`~labforensics.session_labs.SlimLabs` reading them one lab at a time.
        """
        sessions, exports, firsts = [], [], []
        sessions_to = (None if sessions_dir is None
                       else LabSessions(sessions_dir, len(self.meta), by_lab=by_lab))  # fmt: skip
        ev_parts: dict[Any, Any] = {}
        sizes: dict[Any, int] = {}
        columns: list[str] | None = None
        for i, (handle, m) in enumerate(zip(self.parts, self.meta, strict=True)):
            ((ss, ev, ex),) = self.eng.gather(self.eng.map(_collect, [handle]))
            self.eng.release([handle])
            lab = m["lab"]
            sizes[lab] = len(ev)
            columns = columns if columns is not None else list(ev.columns)
            if sessions_to is not None:  # written to its file, its slim table kept
                sessions_to.add(ss, first_event_seq(ss, ev))
            else:
                firsts.append(first_event_seq(ss, ev))
                sessions.append(ss)
            ev_parts[lab] = (CaseEvents.spill_part(ev, events_dir / f"events-{i}.arrow")
                             if events_dir is not None else ev)  # fmt: skip
            exports.append(ex)
            del ss, ev, ex
        self.parts = []  # the features and scored rows: freed with the parts
        release_memory()
        assert self.scores is not None
        slim = sessions_to.finish() if sessions_to is not None else None  # merged
        return EngineResult(
            sessions=slim if slim is not None else order_sessions(sessions, firsts),
            exports=concat_exports(exports),
            scores=self.scores,
            labs=[m["lab"] for m in self.meta],
            events=CaseEvents(ev_parts, sizes, columns),
            params=self.settings.sessions,
            session_file=sessions_to.file if sessions_to is not None else None,
        )


def run_labs(
    partitions: Sequence[Any],
    settings: LabSettings,
    detection: DetectParams,
    *,
    engine: Any = None,
    memory_budget: int | None = None,
) -> EngineResult:
    """Sessions, exports, features and scores of every lab, lab by lab (see module doc).

    Parameters
    ----------
    partitions : sequence of callables
        One per lab (:mod:`labforensics.engine.partitions`), each with ``.lab``;
        labs sorted, the no-lab partition last.
    settings : LabSettings
    detection : DetectParams
    engine : LocalEngine or DaskEngine, optional
        Default :class:`LocalEngine`.
    memory_budget : int, optional
        Bytes; a lab whose events alone exceed it (:func:`labs_over_budget`) is processed
        in account batches (:mod:`labforensics.engine.batches`), with a warning
        (:class:`MemoryBudgetWarning`) before the labs run when one account alone
        exceeds it.

    Returns
    -------
    EngineResult
    """
    eng = engine or LocalEngine()
    # a SIGTERM raises here, so that the spill folder is removed before the process ends
    with sigterm_raises(lambda: EngineTerminated("run interrupted by SIGTERM; spill removed")):
        try:
            run = LabRun(partitions, settings, detection, eng, memory_budget=memory_budget)
            run.first()
            run.peer()
            run.detect()
            return run.collect()
        finally:
            if engine is None:  # ours: its spill folder removed
                eng.close()
