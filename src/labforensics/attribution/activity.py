"""Activity-level evidence of the conclusion: whether the operation a logged proposition
names was authorised (the authorisation register's status, issue 14 item 1) and whether
its output was fetched from outside (the transfer log), weighed as factors apart from
the leak's content (:mod:`.likelihood`).

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

The output's retrieval
----------------------
A second status, weighed the same way beside the register's: whether the operation's
output file was fetched from outside the lab's and the vendor's networks or anonymously
(the transfer log linked to the file the operation named, each transfer credited to one
operation: :func:`.linking.credit_transfers`). An operation is *flagged* when its file
was so fetched, *clear* when the log shows its file on the server and no such fetch of
it, not assessed when no transfer log was given, it named no file (nothing to look for;
consultations) or the log never shows its file (:func:`retrieval_flags`). The
base rate ``p1`` and the assumption are the register's (``pi = max(p1, 1/2)``: a copy
that leaked is taken to be at least as often fetched from outside as the lab's other
operations, and no less than even). The two statuses are taken as independent given
which operation made the copy, so their factors multiply. This is what the regulator's
scenario needs (session 18's QA, "S1regul"): an authorised migration whose file was
fetched anonymously from outside, beside an unregistered staff export of the same
patients, no longer names the staff member on the register alone; the two point
opposite ways and, the content unable to tell the operations apart, no source is named
(``tests/attribution/test_activity_retrieval.py``, worked by hand).

**Off by default** (:class:`~.params.AttributionParams` ``activity_evidence``): the
assumptions on ``pi`` are not measured, the factors can name an operator on a content
ratio of 1, and a file that left by another way (a USB key, a mail) or was fetched from
a server the transfer log does not cover reads as not fetched. When switched on, the
conclusion states them apart from the content (``per_lab[].activity``: the statuses
weighed, each proposition's log10 likelihood without them, the factor and statuses of
its best operation, the lab's counts; the reason gives both parts, the content's as the
content-only run weighs it, ties included), the sensitivity reruns include "without the
activity evidence" and the limits say what each status assumes (ENFSI 2015: each factor
with its source).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from .likelihood import cut_log10
from .linking import complete, credited, fetched_outside

#: Register statuses that make a session *not authorised* (the authorisation format).
NOT_AUTHORISED: frozenset[str] = frozenset({"beyond", "unregistered"})

#: Per-operation register flag: not authorised, authorised, not assessed.
FLAGGED, CLEAR, NOT_ASSESSED = 1, 0, -1

#: The least P(not authorised | the operation made the copy) is taken to be (module
#: docstring: ``pi = max(p0, 1/2)``).
P_GIVEN_COPY = 0.5

#: The words each status's flags are said with (reasons, ``per_lab[].activity``), in
#: the order the statuses are weighed and said.
STATUS_WORDS: dict[str, dict[int, str]] = {
    "register": {FLAGGED: "not authorised", CLEAR: "authorised", NOT_ASSESSED: "not assessed"},
    "retrieval": {
        FLAGGED: "fetched from outside",
        CLEAR: "not fetched from outside",
        NOT_ASSESSED: "retrieval not assessed",
    },
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


def retrieval_flags(links: pd.DataFrame | None, session_ids: np.ndarray) -> np.ndarray:
    """Each session's retrieval flag from the transfer links (module docstring, "the
    output's retrieval").

    The links join files by base name (:mod:`.linking`): one transfer is linked to every
    export that ever wrote a file of that name; each is credited to one of them
    (:func:`~.linking.credit_transfers`, the ``credited`` column). A session is
    :data:`FLAGGED` when it is credited with a complete download from outside or
    anonymous; :data:`CLEAR` when it is credited with a transfer of its file (an upload,
    or a complete download) and with none from outside; :data:`NOT_ASSESSED` otherwise
    (no transfer log, no file named, or a file the log never shows on the server: a
    local file of the same name, which the server's log cannot speak of, is neither
    counted fetched nor "not fetched"). An incomplete transfer (xferlog completion
    ``i``) is not a fetch (QA session 19: a download credited to a staff export 8 days
    older than the nightly backup that rewrote the file; a local file counted as "not
    fetched"; a 512-byte aborted download counted as a copy).

    Parameters
    ----------
    links : pandas.DataFrame or None
        :func:`~.linking._link_transfers`' rows (``session_id``, ``extraction_ts``,
        ``file_base``, ``transfer_ts``, ``direction``, ``remote_host``, ``completion``,
        ``external_fetch``, ``source_file``, ``source_line``; ``credited``, computed
        when absent).
    session_ids : numpy.ndarray of str, shape (n,)

    Returns
    -------
    numpy.ndarray of int8, shape (n,)
    """
    out = np.full(len(session_ids), NOT_ASSESSED, dtype=np.int8)
    if links is None or links.empty or not len(session_ids):
        return out
    own = credited(links)
    down = (links["direction"].astype(str) == "download").to_numpy()
    sid = links["session_id"].astype(str).to_numpy()
    on_server = set(sid[own & (~down | complete(links))])  # its file uploaded, or fetched whole
    owners = set(links.loc[fetched_outside(links), "session_id"].astype(str))
    ids = np.asarray(session_ids, dtype=str)
    out[np.isin(ids, list(on_server))] = CLEAR
    out[np.isin(ids, list(owners))] = FLAGGED
    return out


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
    """(flagged, assessed) counts of one status's flags: for the register, not
    authorised and assessed; for the retrieval, fetched from outside and assessed.

    Parameters
    ----------
    flags : pandas.Series or numpy.ndarray of int8
        :func:`session_flags`, :func:`retrieval_flags` or :func:`op_flags`.

    Returns
    -------
    tuple of int
        The flags equal to :data:`FLAGGED`, and those not :data:`NOT_ASSESSED`.

    Examples
    --------
    >>> lab_counts(np.array([FLAGGED, CLEAR, NOT_ASSESSED, CLEAR], dtype=np.int8))
    (1, 3)
    """
    v = np.asarray(flags)
    return int((v == FLAGGED).sum()), int((v != NOT_ASSESSED).sum())


def attach(prep: dict[str, Any] | None, exports: pd.DataFrame | None) -> None:
    """Give each lab of a prepared conclusion (:func:`~.lab_data.prepare`) its
    operations' register flags and the counts of its comparable operations for both
    statuses (module docstring: flagged, assessed; in place). The register's without
    exports assessed by a register is left None; the retrieval's is None when no
    comparable operation could be assessed (no transfer log, no output file named).

    Parameters
    ----------
    prep : dict or None
        :func:`~.lab_data.prepare`'s output (each operation's ``retrieval`` flag set by
        :func:`~.lab_data._operations`).
    exports : pandas.DataFrame or None
        ``exports.parquet``'s rows.
    """
    if prep is None:
        return
    for lab, d in prep["labs"].items():
        if d.ops is None or d.ops.empty:
            continue
        # the comparable operations: the exports and extractions weighed as candidate
        # copies (not routine, up to the sighting), not the account consultations
        comparable = d.ops["kind"].to_numpy() != "consultations"
        if exports is not None:
            d.register = op_flags(d.ops, session_flags(exports, str(lab)))
            d.register_counts = lab_counts(d.register[comparable])
        if "retrieval" in d.ops.columns:
            counts = lab_counts(d.ops["retrieval"].to_numpy(dtype=np.int8)[comparable])
            d.retrieval_counts = counts if counts[1] else None


def statuses(d: Any) -> dict[str, tuple[np.ndarray, tuple[int, int]]]:
    """The statuses weighed for a lab (:data:`STATUS_WORDS`' order): name -> (each
    operation's flag, the lab's (flagged, assessed) comparable operations); only those
    attached (:func:`attach`)."""
    out: dict[str, tuple[np.ndarray, tuple[int, int]]] = {}
    if d.register is not None and d.register_counts is not None:
        out["register"] = (d.register, d.register_counts)
    if d.retrieval_counts is not None:
        out["retrieval"] = (d.ops["retrieval"].to_numpy(dtype=np.int8), d.retrieval_counts)
    return out


def total_log_factors(st: dict[str, tuple[np.ndarray, tuple[int, int]]], m: int) -> np.ndarray:
    """Natural log of each operation's activity factor: the sum over the statuses
    weighed (:func:`statuses`) of :func:`log_factors` (the statuses taken as independent
    given which operation made the copy).

    Returns
    -------
    numpy.ndarray of float64, shape (m,)
    """
    out = np.zeros(m, dtype=float)
    for flags, counts in st.values():
        out += log_factors(flags, *counts)
    return out


def _own_words(j: int | None, st: dict[str, tuple[np.ndarray, tuple[int, int]]]) -> str:
    if j is None:
        return "no operation of the leading proposition"
    words = ", ".join(STATUS_WORDS[k][int(f[j])] for k, (f, _) in st.items())
    return f"the leading proposition's best operation {words}"


def _count_words(st: dict[str, tuple[np.ndarray, tuple[int, int]]]) -> str:
    return "; ".join(
        f"{c[0]:,} of the lab's {c[1]:,} assessed comparable operations {STATUS_WORDS[k][FLAGGED]}"
        for k, (_, c) in st.items()
    )


def reason_text(
    j: int | None,
    st: dict[str, tuple[np.ndarray, tuple[int, int]]],
    content_log10: float,
    total_log10: float,
) -> str:
    """The clause a lab's reason gains when activity statuses were weighed: the
    content's ratio and the statuses' share of the whole (log10, uncapped), and the
    leading proposition's best operation's statuses against the lab's rates."""
    return (
        f"; of which the leak's content log10 {cut_log10(content_log10)} and the operations' "
        f"statuses log10 {cut_log10(total_log10 - content_log10)} (activity-level evidence: "
        f"{_own_words(j, st)}; {_count_words(st)})"
    )


def describe(
    st: dict[str, tuple[np.ndarray, tuple[int, int]]], lf: np.ndarray, best_op: dict[str, int]
) -> dict[str, Any]:
    """The ``per_lab[].activity`` block: the lab's counts per status and each
    proposition's best operation's statuses and factor (log10, all statuses)."""
    out: dict[str, Any] = {"statuses": list(st)}
    if "register" in st:
        c = st["register"][1]
        out["operations_not_authorised"], out["operations_assessed"] = c
    if "retrieval" in st:
        c = st["retrieval"][1]
        out["operations_fetched_outside"], out["operations_retrieval_assessed"] = c
    out["best_operation"] = {
        h: {
            **{k: STATUS_WORDS[k][int(f[j])] for k, (f, _) in st.items()},
            "log10_factor": float(lf[j] / math.log(10.0)),
        }
        for h, j in sorted(best_op.items())
    }
    return out


__all__ = [
    "attach",
    "CLEAR",
    "FLAGGED",
    "STATUS_WORDS",
    "NOT_ASSESSED",
    "NOT_AUTHORISED",
    "describe",
    "lab_counts",
    "log_factors",
    "op_flags",
    "reason_text",
    "retrieval_flags",
    "session_flags",
    "statuses",
    "total_log_factors",
]
