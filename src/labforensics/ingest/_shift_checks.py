"""Spring-forward times whose reading contradicts their file's order (QA session 13).

A local time in the spring-forward gap (02:10 on the last Sunday of March in Paris)
does not exist: it comes from a clock not yet switched and is read with the winter
offset (``nonexistent_shifted``, documented). When the same file goes on past the gap
(03:00, 03:05 CEST), that reading can put the gap's rows after lines written below
them: 01:50, 02:10, 02:59:59, 03:00, 03:05 reads as 00:50, 01:10, 01:59:59, 01:00,
01:05 UTC, and one session of one account splits in three. Which is wrong is not told
(the gap's writer had not switched; the rows below it may come from a clock that had,
or from the same clock, later switched by hand), so the reading is kept and each such
line is named: a field problem on ``ts``, the event kept.

A line is named when, in the order its file's rows happened (its lines top-down, or
bottom-up for a file written newest first), a row after it is earlier in UTC by more
than :data:`labforensics.ingest.clock.CLOCK_SKEW_NS` (two writers' clocks may disagree
that much, the fall-back rule's tolerance).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .clock import CLOCK_SKEW_NS, line_order

__all__ = ["SHIFT_ORDER_PROBLEM", "shifted_out_of_order"]

#: The problem of a spring-forward line whose winter-offset reading falls after a later line.
SHIFT_ORDER_PROBLEM = (
    "nonexistent local time (spring-forward gap) read with the winter offset falls after "
    "later lines of its file: its order within the session may be wrong; event kept"
)


def shifted_out_of_order(events: pd.DataFrame) -> list[dict[str, object]]:
    """Field problems of the ``nonexistent_shifted`` lines read out of their file's order.

    Parameters
    ----------
    events : pandas.DataFrame
        Canonical events (``ts``, ``ts_quality``, ``source_file``, ``source_line``).

    Returns
    -------
    list of dict
        One per line named: ``source_file``, ``source_line``, ``column`` (``ts``),
        ``value`` (the UTC time read, ISO 8601), ``problem`` (:data:`SHIFT_ORDER_PROBLEM`).
    """
    need = {"ts", "ts_quality", "source_file", "source_line"}
    if not len(events) or not need <= set(events.columns):
        return []
    shifted = (events["ts_quality"] == "nonexistent_shifted").fillna(False).to_numpy(bool)
    if not shifted.any():
        return []
    files = pd.unique(events.loc[shifted, "source_file"])
    rows: list[dict[str, object]] = []
    for f in files:  # only the files with a shifted row (a few, at most)
        sub = events.loc[(events["source_file"] == f).fillna(False).to_numpy(bool),
                         ["source_line", "ts", "ts_quality"]]  # fmt: skip
        per = (
            sub.assign(t=sub["ts"].astype("int64"), s=sub["ts_quality"] == "nonexistent_shifted")
            .groupby("source_line", sort=True)
            .agg(t=("t", "min"), tmax=("t", "max"), s=("s", "any"), q=("ts_quality", "first"))
        )
        exact = (per["q"] == "exact").to_numpy(bool)
        order = line_order(per["t"].to_numpy(np.int64), use=exact)[0]
        t, tmax, s = (
            per["t"].to_numpy(np.int64),
            per["tmax"].to_numpy(np.int64),
            per["s"].to_numpy(),
        )
        lines = per.index.to_numpy()
        if order == 1:  # newest first: rows happened bottom-up
            t, tmax, s, lines = t[::-1], tmax[::-1], s[::-1], lines[::-1]
        # earliest UTC among the rows that happened after each line
        after = np.minimum.accumulate(t[::-1])[::-1]
        later_min = np.append(after[1:], np.iinfo(np.int64).max)
        bad = s & (later_min < tmax - CLOCK_SKEW_NS)
        ts_of = sub.groupby("source_line")["ts"].max()
        for line in lines[bad]:
            rows.append({"source_file": f, "source_line": line, "column": "ts",
                         "value": ts_of[line].strftime("%Y-%m-%dT%H:%M:%SZ"),
                         "problem": SHIFT_ORDER_PROBLEM})  # fmt: skip
    rows.sort(key=lambda r: (str(r["source_file"]), int(r["source_line"])))
    return rows
