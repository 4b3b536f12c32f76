"""Activity-level evidence of the conclusion: whether the operation a logged proposition
names was authorised (the authorisation register's status, issue 14 item 1), weighed
as a factor apart from the leak's content (:mod:`.likelihood`).

Why
---
The leak's content weighs *when* the copy was made and *what* it held. When a logged
export and an unlogged copy at any instant of the range would hold the same patients (a
lab whose base did not change between them), the content cannot tell them apart: a
staff member's unregistered export of the whole base, or a vendor extraction beyond its
ticket, read "no support" against a copy outside the logs and against the lab's
authorised monthly billing export of the same size (QA session 17, finding 3). What
tells them apart is a fact about the operations themselves: one was not authorised.

The factor
----------
Each export or extraction of the case has a register status (``exports.parquet``,
:func:`~labforensics.authorisation.status.assess_exports`). A session is *not
authorised* when any of its exports or extractions is ``beyond`` or ``unregistered``,
*authorised* when all are ``authorised``, and not assessed otherwise (``undetermined``,
``unknown``: no register, or a limit the evidence cannot judge). For an assessed
operation ``j`` of a logged proposition, the register's status ``A_j`` is evidence
about whether ``j`` made the copy:

- if ``j`` did not make the copy, its status is one of the lab's: ``A_j`` is not
  authorised with probability ``p0``, the share of the lab's *other* assessed sessions
  that were not, with Laplace's rule of succession (``(f + 1) / (n + 2)``: a lab with
  no other assessed session gives 1/2, no information);
- if ``j`` made the copy, nothing measured says how often a copy that leaked was
  unauthorised (an authorised migration left on an open server leaks too, as in this
  case): the probability is unknown in [0, 1], uniform a priori, and its predictive
  value is 1/2 (the same rule with no observation).

The factor is ``(1/2) / p0`` for an operation not authorised and ``(1/2) / (1 - p0)``
for an authorised one; 1 for one not assessed, for an account's consultations (no
export to assess) and for every operation when no register was given. It multiplies the
operation's content likelihood inside its proposition's mean
(:func:`~.conclusion.proposition_loglik`); ``outside_evidence`` (a copy by no logged
operation) leaves every operation's status to the lab's rate: factor 1. At a lab where
most exports are unregistered the status says little, and the factor is near 1 or
below; at a lab whose 47 other exports were all authorised, an unregistered one has
``0.5 / (1/49)`` = 24.5 ("weak" to "moderate" on its own, ENFSI 2015).

The conclusion states it apart from the content (``per_lab[].activity``: each
proposition's log10 likelihood without it, the factor of its best operation, the lab's
counts), and the sensitivity reruns include "without the activity evidence" (ENFSI 2015:
each factor with its source; session 9's decision to weigh the content only is revisited
here, with the content's ratio still given).

Not yet weighed: an output fetched from outside the lab's network
(``retrieved_outside``), which needs the same base rate over every export of the lab,
routine ones included.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from .likelihood import cut_log10

#: Register statuses that make a session *not authorised* (the authorisation format).
NOT_AUTHORISED: frozenset[str] = frozenset({"beyond", "unregistered"})

#: Per-operation register flag: not authorised, authorised, not assessed.
FLAGGED, CLEAR, NOT_ASSESSED = 1, 0, -1

#: P(status | the operation made the copy): the predictive of a uniform prior (module
#: docstring).
P_GIVEN_COPY = 0.5


def session_flags(exports: pd.DataFrame | None, lab: str) -> pd.Series:
    """A lab's sessions' register flags from its exports and extractions.

    Parameters
    ----------
    exports : pandas.DataFrame or None
        ``exports.parquet``'s rows (``session_id``, ``lab``, ``status``), or None.
    lab : str
        The lab code.

    Returns
    -------
    pandas.Series of int8
        Index ``session_id`` (str); :data:`FLAGGED` when any of the session's
        operations is ``beyond`` or ``unregistered``, :data:`CLEAR` when all are
        ``authorised``, :data:`NOT_ASSESSED` otherwise. Empty without exports.
    """
    if exports is None or exports.empty or "status" not in exports.columns:
        return pd.Series([], dtype="int8")
    e = exports[(exports["lab"].astype(str) == lab).to_numpy()]
    if e.empty:
        return pd.Series([], dtype="int8")
    st = e["status"].astype(str)
    g = pd.DataFrame({"s": e["session_id"].astype(str).to_numpy(),
                      "bad": st.isin(NOT_AUTHORISED).to_numpy(),
                      "ok": (st == "authorised").to_numpy()}).groupby("s")  # fmt: skip
    bad, ok = g["bad"].any(), g["ok"].all()
    flag = np.where(bad, FLAGGED, np.where(ok, CLEAR, NOT_ASSESSED)).astype(np.int8)
    return pd.Series(flag, index=bad.index.astype(str), dtype="int8")


def op_flags(ops: pd.DataFrame, flags: pd.Series) -> np.ndarray:
    """Each operation's register flag (:data:`NOT_ASSESSED` for consultations and for a
    session with no assessed export).

    Parameters
    ----------
    ops : pandas.DataFrame
        The lab's operations (``op``: the session id, or ``consultations:<account>``).
    flags : pandas.Series of int8
        :func:`session_flags`.

    Returns
    -------
    numpy.ndarray of int8, shape (len(ops),)
    """
    if ops.empty:
        return np.zeros(0, dtype=np.int8)
    if flags.empty:
        return np.full(len(ops), NOT_ASSESSED, dtype=np.int8)
    f = flags.reindex(ops["op"].astype(str).to_numpy())
    return f.fillna(NOT_ASSESSED).to_numpy(dtype=np.int8)


def log_factors(op_flag: np.ndarray, n_flagged: int, n_assessed: int) -> np.ndarray:
    """Natural log of each operation's activity factor (module docstring).

    Parameters
    ----------
    op_flag : numpy.ndarray of int8, shape (m,)
        :func:`op_flags`.
    n_flagged, n_assessed : int
        The lab's sessions not authorised, and assessed (not authorised or authorised),
        each operation's own counted in.

    Returns
    -------
    numpy.ndarray of float64, shape (m,)
        ``ln(0.5 / p0)`` for a flagged operation, ``ln(0.5 / (1 - p0))`` for an
        authorised one, 0 for one not assessed; ``p0 = (f + 1) / (n + 2)`` over the
        lab's *other* assessed sessions.

    Examples
    --------
    >>> import numpy as np
    >>> lf = log_factors(np.array([1, 0, -1], dtype=np.int8), 1, 48)
    >>> [round(float(np.exp(x)), 4) for x in lf]
    [24.5, 0.5213, 1.0]
    """
    f = np.asarray(op_flag, dtype=np.int8)
    out = np.zeros(f.shape, dtype=float)
    own = f != NOT_ASSESSED
    if not own.any():
        return out
    others_f = n_flagged - (f == FLAGGED).astype(int)
    others_n = n_assessed - own.astype(int)
    p0 = (others_f + 1.0) / (others_n + 2.0)
    out[f == FLAGGED] = np.log(P_GIVEN_COPY / p0[f == FLAGGED])
    out[f == CLEAR] = np.log(P_GIVEN_COPY / (1.0 - p0[f == CLEAR]))
    return out


def lab_counts(flags: pd.Series) -> tuple[int, int]:
    """(sessions not authorised, sessions assessed) of a lab's :func:`session_flags`."""
    v = flags.to_numpy()
    return int((v == FLAGGED).sum()), int((v != NOT_ASSESSED).sum())


def attach(prep: dict[str, Any] | None, exports: pd.DataFrame | None) -> None:
    """Give each lab of a prepared conclusion (:func:`~.lab_data.prepare`) its
    operations' register flags and its counts (in place; nothing without exports).

    Parameters
    ----------
    prep : dict or None
        :func:`~.lab_data.prepare`'s output.
    exports : pandas.DataFrame or None
        ``exports.parquet``'s rows.
    """
    if prep is None or exports is None:
        return
    for lab, d in prep["labs"].items():
        fl = session_flags(exports, str(lab))
        d.register = op_flags(d.ops, fl) if d.ops is not None else None
        d.register_counts = lab_counts(fl)


def reason_text(
    j: int | None,
    op_flag: np.ndarray,
    lf: np.ndarray,
    counts: tuple[int, int],
    content_log10: float,
    total_log10: float,
) -> str:
    """The clause a lab's reason gains when the register's statuses were weighed: the
    content's ratio and the statuses' share of the whole (log10, uncapped), and the
    leading proposition's best operation's status against the lab's rate."""
    word = {FLAGGED: "not authorised", CLEAR: "authorised", NOT_ASSESSED: "not assessed"}
    own = (f"the leading proposition's best operation {word[int(op_flag[j])]}"
           if j is not None else "no operation of the leading proposition")  # fmt: skip
    return (
        f"; of which the leak's content log10 {cut_log10(content_log10)} and the register's "
        f"statuses log10 {cut_log10(total_log10 - content_log10)} (activity-level evidence: "
        f"{own}; {counts[0]:,} of the lab's {counts[1]:,} assessed sessions not authorised)"
    )


def describe(
    op_flag: np.ndarray, lf: np.ndarray, best_op: dict[str, int], counts: tuple[int, int]
) -> dict[str, Any]:
    """The ``per_lab[].activity`` block: the lab's counts and each proposition's best
    operation's status and factor (log10)."""
    word = {FLAGGED: "not authorised", CLEAR: "authorised", NOT_ASSESSED: "not assessed"}
    return {
        "sessions_not_authorised": counts[0],
        "sessions_assessed": counts[1],
        "best_operation": {
            h: {"register": word[int(op_flag[j])], "log10_factor": float(lf[j] / math.log(10.0))}
            for h, j in sorted(best_op.items())
        },
    }


__all__ = [
    "attach",
    "CLEAR",
    "FLAGGED",
    "NOT_ASSESSED",
    "NOT_AUTHORISED",
    "describe",
    "lab_counts",
    "log_factors",
    "op_flags",
    "reason_text",
    "session_flags",
]
