"""Per-lab engines: sessions, exports, features and scoring run lab by lab.

:func:`run_labs` (:mod:`labforensics.engine.run`) runs the per-lab stage
(:func:`~labforensics.engine.lab.lab_stage`) over lab partitions
(:mod:`labforensics.engine.partitions`: events in memory, or read from an evidence
store by whoever runs the lab), then the small second passes on the client: the
cross-lab peer baselines from per-lab summaries (exact) and the detector model fitted
on a stratified sample and applied lab by lab (:mod:`labforensics.engine.model`).
``engine="local"`` (:class:`LocalEngine`) runs the labs one after the other in this
process; ``engine="dask"`` (:class:`~labforensics.engine.dask.DaskEngine`) runs the
same functions as ``dask.distributed`` tasks, one per lab. A lab whose events exceed
the memory budget is processed in account batches
(:func:`~labforensics.engine.batches.lab_stage_batched`, :mod:`labforensics.engine.batches`),
with the same result as the lab whole.
"""

from __future__ import annotations

from .batches import lab_stage_batched
from .lab import LabPart, LabSettings, lab_stage
from .partitions import FramePartition, StorePartition, split_by_lab, store_partitions
from .run import ENGINES, EngineResult, LabRun, LocalEngine, make_engine, run_labs

__all__ = [
    "ENGINES",
    "EngineResult",
    "FramePartition",
    "LabPart",
    "LabRun",
    "LabSettings",
    "LocalEngine",
    "StorePartition",
    "lab_stage",
    "lab_stage_batched",
    "make_engine",
    "run_labs",
    "split_by_lab",
    "store_partitions",
]
