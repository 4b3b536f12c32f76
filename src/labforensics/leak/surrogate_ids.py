"""Key-free record ids for the linkage's model (issue 13; session 6).

Splink samples pairs by a hash of the record ids (u sampling, EM's pair cap) and the
decoys permute rows in record-id order. With the keyed ids (HMAC of the case key) the
trained model, and so the links, changed with the key. The model runs on ids made from
each row's place in (file, line) order; the keyed ids are put back in its outputs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

__all__: list[str] = []


def _surrogate_ids(people: pd.DataFrame, prefix: str) -> tuple[pd.DataFrame, pa.Array]:
    """``people`` with ``record_id`` replaced by an id that does not depend on the key.

    The id is ``prefix`` + 12 digits of the row's place in the order of
    (``source_file``, ``source_line``), the keyed ``record_id`` breaking ties (none
    with the readers' frames: one row per file line), so that sorting by it (as the
    model frames and the decoys do) gives that order. Rows stay where they are and
    only the id column is new (pandas' copy-on-write shares the others). Returns
    the frame and the keyed ids by place, for :func:`_restore_ids`.
    """
    order = people[["source_file", "source_line", "record_id"]].astype(
        {"source_file": "string", "record_id": "string"}
    )
    order = order.reset_index(drop=True).sort_values(
        ["source_file", "source_line", "record_id"], kind="stable"
    )
    at = order.index.to_numpy(dtype=np.int64)  # place -> row position
    place = np.empty(len(at), dtype=np.int64)
    place[at] = np.arange(len(at), dtype=np.int64)  # row position -> place
    keyed = pa.array(order["record_id"].array, type=pa.large_string())
    ids = prefix + pd.Series(place, dtype="int64").astype("string").str.zfill(12)
    out = people.assign(record_id=pd.Series(ids.array, index=people.index, dtype="string"))
    return out, keyed


def _keyed(ids: pd.Series, keyed: pa.Array) -> pd.Series:
    """Surrogate ids (:func:`_surrogate_ids`) back to the keyed ids; NA stays NA."""
    s = pd.Series(ids, dtype="string")
    at = s.str.slice(1).astype("Int64").to_numpy(dtype=np.int64, na_value=-1)
    taken = keyed.take(pa.array(np.where(at >= 0, at, 0), mask=at < 0))
    return pd.Series(
        taken.to_pandas(types_mapper=lambda t: pd.StringDtype()), index=s.index, dtype="string"
    )


def _restore_ids(
    links: pd.DataFrame,
    levels: pd.DataFrame,
    cand: pd.DataFrame,
    index_ids: pa.Array,
    dump_ids: pa.Array,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The keyed ids back in the links, levels and candidates, each sorted by the keyed
    row id as before (stable: a row's candidates keep their order, so
    :meth:`Linkage.links_at` decides as the linkage did)."""
    links = links.copy()
    links["row_id"] = _keyed(links["row_id"], dump_ids)
    for col in ("patient", "runner_up_patient"):
        links[col] = _keyed(links[col], index_ids)
    links = links.sort_values("row_id", kind="stable").reset_index(drop=True)
    levels = levels.copy()
    levels["row_id"] = _keyed(levels["row_id"], dump_ids)
    levels["patient"] = _keyed(levels["patient"], index_ids)
    levels = levels.sort_values("row_id", kind="stable").reset_index(drop=True)
    cand = cand.copy()
    cand["row_id"] = _keyed(cand["row_id"], dump_ids)
    cand["record_id"] = _keyed(cand["record_id"], index_ids)
    cand = cand.sort_values("row_id", kind="stable").reset_index(drop=True)
    return links, levels, cand
