"""The ``logon_pairs`` session rule of :func:`labforensics.sessionize`.

Logs of only logons and logoffs (a workstation logon file, an access log read
through a profile with ``session_rule = "logon_pairs"``) are cut into sessions
by pairing a logon with the next logoff of the same account and host (with the
maximum duration), not by an idle timeout meant for event-dense logs: on a
generated CERT-shape file the idle rules recover 14 % of the true sessions and
this rule all of them (``tests/ingest/test_profiles_examples.py``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import _sessions_kernels as K
from .schema import ACTIONS

__all__ = ["logon_pair_keys", "logon_pair_rows", "split_logon_pairs"]


def logon_pair_rows(ev: pd.DataFrame) -> np.ndarray:
    """Which events follow the ``logon_pairs`` rule (their ``session_rule``), bool[n]."""
    if "session_rule" not in ev.columns:
        return np.zeros(len(ev), dtype=bool)
    return (ev["session_rule"] == "logon_pairs").to_numpy(dtype=bool, na_value=False)


def logon_pair_keys(pair: np.ndarray, key2: np.ndarray, n_key2: int) -> tuple[np.ndarray, int]:
    """Session keys of logon-pair events moved to their own range (``+ n_key2``).

    A logon-pair source's events never share a session with another source's
    events of the same account and host (an event-dense log cut by idle time).
    """
    if not pair.any():
        return key2, n_key2
    return np.where(pair, key2 + n_key2, key2), 2 * n_key2


def split_logon_pairs(
    order: np.ndarray,
    acct: np.ndarray,
    key2: np.ndarray,
    ts: np.ndarray,
    act: np.ndarray,
    pair: np.ndarray,
    max_ns: int,
    start_flag: np.ndarray,
    end_code: np.ndarray,
) -> None:
    """Session starts and end codes of logon-pair events (in place), by the pair rule.

    Within one (account, host) of a logon-pair source, in evidence order, a new
    session starts at the first event after a logoff (``logout``) and at an event
    more than ``max_ns`` after its session's start (``max_duration``); never on an
    idle gap and never on a logon (a logon while a session is open is a screen
    unlock or a re-authentication of it). The same kernel as the idle rules,
    run on the logon-pair events only (their groups are contiguous in ``order``:
    :func:`logon_pair_keys`) with no idle timeout and no login code.
    """
    pos = np.flatnonzero(pair[order])
    if not len(pos):
        return
    never = np.ones(len(ts), dtype=bool)  # "no idle cut" for every event
    s, e = K.split_sessions(
        order[pos],
        acct,
        key2,
        ts,
        never,
        act,
        -1,  # no action code: a logon never cuts
        ACTIONS.index("logout"),
        np.int64(np.iinfo(np.int64).max),
        np.int64(max_ns),
    )
    start_flag[pos] = s
    end_code[pos] = e
