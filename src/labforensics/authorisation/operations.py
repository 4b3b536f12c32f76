"""Every export and extraction of the evidence, one row per outbound event.

An *operation* is one event whose canonical action is ``export`` or ``extract``
(:data:`labforensics.schema.OUTBOUND_ACTIONS`, LIS codes ``EXPORT`` and
``EXTRACTION``, DICOM EventID 110106 Export). Its ``records`` is the event's
record count (``NB_ENREG`` / ``nb_lignes``), the same figure the session table
sums into ``records_exported`` / ``records_extracted``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from .._arrays import unique_sorted
from ..attribution.linking import _files_in
from ..features import _map_events_to_sessions
from ..schema import OUTBOUND_ACTIONS, STRING, STRING_LIST, check_table

__all__ = ["OPERATION_COLUMNS", "PATIENT_UNIT_MODULES", "operations"]

#: Modules whose ``extract`` events count patients, not rows: the LIS's data
#: extraction and migration tool (``shared/formats/lis-audit-csv.md``, module
#: ``EXTRACTION``) copies the lab's patient file, one record per patient
#: (``authorisations.md``: "the extraction tool's patient-file extraction").
#: Every other operation (an export of results, a billing export) holds rows, several
#: per patient.
PATIENT_UNIT_MODULES: tuple[str, ...] = ("EXTRACTION",)

#: Columns of :func:`operations` (dtypes in the docstring).
OPERATION_COLUMNS: tuple[str, ...] = (
    "session_id",
    "lab",
    "account",
    "account_kind",
    "ts",
    "action",
    "action_raw",
    "module",
    "records",
    "record_unit",
    "patients_named",
    "output_file",
    "output_files",
    "source_file",
    "source_line",
    "seq",
)

EVENT_NEED = {
    "ts": "datetime",
    "lab": None,
    "account": None,
    "action": None,
    "module": None,
    "patient": None,
    "records": "numeric",
    "detail": None,
    "seq": "numeric",
}


def _patients_named(sid_all: pd.Series, patient: pd.Series, is_op: np.ndarray) -> np.ndarray:
    """Distinct patients named by all the events of each operation's session (int64,
    one per ``is_op`` event; 0 without a session), by integer codes: no Python string
    per event (the events' session ids and patients factorised in Arrow)."""
    sc = np.asarray(pd.factorize(sid_all)[0], dtype=np.int64)  # -1: no session
    op_sc = sc[is_op]
    wanted = unique_sorted(op_sc[op_sc >= 0])
    if not len(wanted):
        return np.zeros(len(op_sc), dtype=np.int64)
    sel = np.flatnonzero(np.isin(sc, wanted) & patient.notna().to_numpy(dtype=bool))
    pc = np.asarray(pd.factorize(patient.iloc[sel])[0], dtype=np.int64)
    radix = int(pc.max()) + 1 if len(pc) else 1
    pairs = unique_sorted(sc[sel] * radix + pc)
    count = np.bincount(pairs // radix, minlength=int(sc.max()) + 1)
    return np.where(op_sc >= 0, count[np.maximum(op_sc, 0)], 0).astype(np.int64)


def operations(events: pd.DataFrame, sessions: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every export and extraction, with its session, size, unit and output file.

    Parameters
    ----------
    events : pandas.DataFrame
        Canonical event table (:data:`labforensics.schema.EVENT_DTYPES`), with the
        ``session_id`` column ``sessionize`` adds; without it (and with ``sessions``)
        events are matched to sessions by (lab, account) and time.
    sessions : pandas.DataFrame, optional
        Session table; used only when ``events`` lacks ``session_id``.

    Returns
    -------
    pandas.DataFrame
        One row per ``export``/``extract`` event, in evidence order (``ts``, ``seq``):
        ``session_id`` (string, missing for an event in no session), ``lab``,
        ``account``, ``account_kind`` (string), ``ts`` (datetime64[ns, UTC]),
        ``action`` (``export``/``extract``), ``action_raw``, ``module`` (string, upper
        case), ``records`` (Int64, records; missing when the source gives none),
        ``record_unit`` (``patient`` for an ``extract`` in a module of
        :data:`PATIENT_UNIT_MODULES`, else ``row``), ``patients_named`` (int64:
        distinct patients named by the events of the operation's session, 0 without a
        session), ``output_file`` (string: the first output file base name named in
        the event's free text, missing if none), ``output_files`` (list of every such
        base name), ``source_file``, ``source_line``, ``seq``.

    Raises
    ------
    labforensics.errors.MissingColumnsError
        When ``events`` lacks a needed column.
    """
    check_table(events, EVENT_NEED, "assess_exports: events")
    if "session_id" in events.columns:
        sid_all = events["session_id"].astype(STRING)
    elif sessions is not None and len(events):
        sid_all = _map_events_to_sessions(events, sessions)
    else:
        sid_all = pd.Series(pd.NA, index=events.index, dtype=STRING)
    sid_all = sid_all.astype(STRING)
    sid_all = pd.Series(sid_all.array, index=events.index)  # the events' index, no copy
    action = events["action"]
    is_op = action.isin(list(OUTBOUND_ACTIONS)).to_numpy(dtype=bool, na_value=False)
    ev = events.loc[is_op]
    sid = sid_all.loc[is_op]
    named = _patients_named(sid_all, events["patient"], is_op)
    module = ev["module"].astype(STRING).str.upper()
    act = action.loc[is_op].astype(STRING)
    unit = np.where(
        (act == "extract").to_numpy(dtype=bool)
        & module.isin(PATIENT_UNIT_MODULES).to_numpy(dtype=bool),
        "patient",
        "row",
    )
    files = _files_in(ev["detail"]) if len(ev) else pd.Series([], dtype=object)
    cells = [list(f) if isinstance(f, list) else [] for f in files.tolist()]
    out = pd.DataFrame(
        {
            "session_id": sid.to_numpy(),
            "lab": ev["lab"].astype(STRING).to_numpy(),
            "account": ev["account"].astype(STRING).to_numpy(),
            "account_kind": ev["account_kind"].astype("object").astype(STRING).to_numpy()
            if "account_kind" in ev.columns
            else pd.NA,
            "ts": pd.to_datetime(ev["ts"], utc=True).astype("datetime64[ns, UTC]").to_numpy(),
            "action": act.to_numpy(),
            "action_raw": ev["action_raw"].astype(STRING).to_numpy()
            if "action_raw" in ev.columns
            else pd.NA,
            "module": module.to_numpy(),
            "records": pd.to_numeric(ev["records"], errors="coerce").astype("Int64").to_numpy(),
            "record_unit": unit,
            "patients_named": named,
            "output_file": [c[0] if c else None for c in cells],
            "output_files": pd.array(cells, dtype=STRING_LIST)
            if cells
            else pd.array([], dtype=STRING_LIST),
            "source_file": ev["source_file"].astype(STRING).to_numpy()
            if "source_file" in ev.columns
            else pd.NA,
            "source_line": pd.to_numeric(ev["source_line"], errors="coerce")
            .astype("Int64")
            .to_numpy()
            if "source_line" in ev.columns
            else pd.NA,
            "seq": ev["seq"].to_numpy(dtype="int64"),
        }
    )
    out["ts"] = pd.to_datetime(out["ts"], utc=True).astype("datetime64[ns, UTC]")
    for c in ("session_id", "lab", "account", "account_kind", "action", "action_raw", "module",
              "record_unit", "output_file", "source_file"):  # fmt: skip
        out[c] = out[c].astype(STRING)
    out["records"] = out["records"].astype("Int64")
    out["source_line"] = out["source_line"].astype("Int64")
    if not isinstance(out["output_files"].dtype, pd.ArrowDtype):
        out["output_files"] = pd.Series(
            pd.array(pa.array(cells, pa.list_(pa.string())), dtype=STRING_LIST), index=out.index
        )
    out = out.sort_values(["ts", "seq"], kind="stable").reset_index(drop=True)
    return out[list(OPERATION_COLUMNS)]
