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

- if ``j`` did not make the copy, its status is one of the lab's *comparable
  operations*: the exports and extractions the conclusion weighs as candidate copies
  (:func:`~.lab_data._operations`: not routine, up to the sighting; never the nightly
  backups, whose count grows with the length of the logs and which are never weighed
  as copies: session 18's QA saw a ratio set by them); ``A_j`` is not authorised with
  probability ``p0``, the share of the lab's *other* assessed comparable operations that
  were not, with Laplace's rule of succession (``(f + 1) / (n + 2)``: none gives 1/2, no
  information);
- if ``j`` made the copy, nothing measured says how often a copy that leaked was
  unauthorised (an authorised migration left on an open server leaks too, as in this
  case). The one assumption made: a copy that leaked is *at least as likely* unauthorised
  as an operation that did not, and no less than even: ``pi = max(p0, 1/2)``.

The factor is ``pi / p0 = max(1, 0.5 / p0)`` for an operation not authorised and
``(1 - pi) / (1 - p0) = min(1, 0.5 / (1 - p0))`` for an authorised one: being authorised
never counts *for* an operation, being unauthorised never *against* it (session 18's QA:
with ``pi`` fixed at 1/2, an authorised extraction at a lab where most operations were
unregistered weighed 25.5 for it). 1 for one not assessed, for an account's
consultations (no export to assess). It multiplies the operation's content likelihood
inside its proposition's mean (:func:`~.conclusion.proposition_loglik`);
``outside_evidence`` (a copy by no logged operation) leaves every operation's status to
the lab's rate: factor 1.

**Off by default** (:class:`~.params.AttributionParams` ``activity_evidence``): the
assumption on ``pi`` is not measured, the factor can name an operator on a content ratio
of 1, and an output fetched from outside the lab's network (the real case's
unauthenticated server) is not yet weighed beside it, so an authorised migration whose
file was fetched anonymously loses to an unregistered staff export of the same patients
(session 18's QA, the regulator's scenario). When switched on, the conclusion states it
apart from the content (``per_lab[].activity``: each proposition's log10 likelihood
without it, the factor of its best operation, the lab's counts; the reason gives both
parts), the sensitivity reruns include "without the activity evidence" and the limits
say what it assumes (ENFSI 2015: each factor with its source).
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

#: The least P(not authorised | the operation made the copy) is taken to be (module
#: docstring: ``pi = max(p0, 1/2)``).
P_GIVEN_COPY = 0.5

#: The words a register flag is said with (reasons, ``per_lab[].activity``).
FLAG_WORD: dict[int, str] = {
    FLAGGED: "not authorised",
    CLEAR: "authorised",
    NOT_ASSESSED: "not assessed",
}


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
        The lab's comparable operations not authorised, and assessed (not authorised or
        authorised), each operation's own counted in (:func:`attach`).

    Returns
    -------
    numpy.ndarray of float64, shape (m,)
        ``ln max(1, 0.5 / p0)`` for a flagged operation, ``ln min(1, 0.5 / (1 - p0))``
        for an authorised one, 0 for one not assessed; ``p0 = (f + 1) / (n + 2)`` over
        the lab's *other* assessed comparable operations.

    Examples
    --------
    >>> import numpy as np
    >>> lf = log_factors(np.array([1, 0, -1], dtype=np.int8), 1, 48)
    >>> [round(float(np.exp(x)), 4) for x in lf]
    [24.5, 0.5213, 1.0]
    >>> lf = log_factors(np.array([1, 0], dtype=np.int8), 8, 10)  # most not authorised
    >>> [round(float(np.exp(x)), 4) for x in lf]
    [1.0, 1.0]
    """
    f = np.asarray(op_flag, dtype=np.int8)
    out = np.zeros(f.shape, dtype=float)
    own = f != NOT_ASSESSED
    if not own.any():
        return out
    others_f = n_flagged - (f == FLAGGED).astype(int)
    others_n = n_assessed - own.astype(int)
    p0 = (others_f + 1.0) / (others_n + 2.0)
    pi = np.maximum(p0, P_GIVEN_COPY)  # a copy no less often unauthorised (docstring)
    out[f == FLAGGED] = np.log(pi[f == FLAGGED] / p0[f == FLAGGED])
    out[f == CLEAR] = np.log((1.0 - pi[f == CLEAR]) / (1.0 - p0[f == CLEAR]))
    return out


def lab_counts(flags: pd.Series | np.ndarray) -> tuple[int, int]:
    """(not authorised, assessed) counts of register flags.

    Parameters
    ----------
    flags : pandas.Series or numpy.ndarray of int8
        :func:`session_flags` or :func:`op_flags`.

    Returns
    -------
    tuple of int
        The flags equal to :data:`FLAGGED`, and those not :data:`NOT_ASSESSED`.
    """
    v = np.asarray(flags)
    return int((v == FLAGGED).sum()), int((v != NOT_ASSESSED).sum())


def attach(prep: dict[str, Any] | None, exports: pd.DataFrame | None) -> None:
    """Give each lab of a prepared conclusion (:func:`~.lab_data.prepare`) its
    operations' register flags and the counts of its comparable operations (module
    docstring: not authorised, assessed; in place; nothing without exports).

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
        if d.ops is None or d.ops.empty:
            continue
        d.register = op_flags(d.ops, session_flags(exports, str(lab)))
        # the comparable operations: the exports and extractions weighed as candidate
        # copies (not routine, up to the sighting), not the account consultations
        d.register_counts = lab_counts(d.register[d.ops["kind"].to_numpy() != "consultations"])


def reason_text(
    j: int | None,
    op_flag: np.ndarray,
    counts: tuple[int, int],
    content_log10: float,
    total_log10: float,
) -> str:
    """The clause a lab's reason gains when the register's statuses were weighed: the
    content's ratio and the statuses' share of the whole (log10, uncapped), and the
    leading proposition's best operation's status against the lab's rate."""
    own = (f"the leading proposition's best operation {FLAG_WORD[int(op_flag[j])]}"
           if j is not None else "no operation of the leading proposition")  # fmt: skip
    return (
        f"; of which the leak's content log10 {cut_log10(content_log10)} and the register's "
        f"statuses log10 {cut_log10(total_log10 - content_log10)} (activity-level evidence: "
        f"{own}; {counts[0]:,} of the lab's {counts[1]:,} assessed comparable operations not "
        "authorised)"
    )


def describe(
    op_flag: np.ndarray, lf: np.ndarray, best_op: dict[str, int], counts: tuple[int, int]
) -> dict[str, Any]:
    """The ``per_lab[].activity`` block: the lab's counts and each proposition's best
    operation's status and factor (log10)."""
    return {
        "operations_not_authorised": counts[0],
        "operations_assessed": counts[1],
        "best_operation": {
            h: {
                "register": FLAG_WORD[int(op_flag[j])],
                "log10_factor": float(lf[j] / math.log(10.0)),
            }
            for h, j in sorted(best_op.items())
        },
    }


__all__ = [
    "attach",
    "CLEAR",
    "FLAGGED",
    "FLAG_WORD",
    "NOT_ASSESSED",
    "NOT_AUTHORISED",
    "describe",
    "lab_counts",
    "log_factors",
    "op_flags",
    "reason_text",
    "session_flags",
]
