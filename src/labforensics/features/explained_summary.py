"""What the explanation of patient accesses rested on, per lab: for findings.json and the report.

:func:`~labforensics.features.explained.explain_accesses` learns, from each lab's own
evidence, the window within which a clinical event explains a read (per role) and the
lab's routine rate of unexplained reads (the null of every ``unexplained_p``). Issue 14
asks for the window to be stated in the report; an expert must also be able to say
which rate a p-value was computed at, and why. :func:`explanation_summary` turns the
two small tables :class:`~labforensics.features.explained.Explanation` holds
(``windows``, ``labs``; in ``Features.notes`` as ``explain_window`` and
``explain_labs``) into JSON-safe rows, one per lab, in lab order.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from .explained import EXPLAINED_SHARE_EHR

__all__ = ["RATE_BASES", "explanation_summary", "rate_basis"]

#: How a lab's routine rate was set (:func:`~labforensics.features.explained.routine_rate`).
RATE_BASES: dict[str, str] = {
    "bound": "the lab's own, at the 95 % upper confidence bound of its median account's share",
    "floor": "the 6 % floor of hospital logs (the lab's evidence does not bound its rate lower)",
    "share": "the lab's own share, above the 6 % floor",
    "none": "no patient read at the lab",
}


def rate_basis(share: np.ndarray, rate: np.ndarray) -> np.ndarray:
    """Which rule set each lab's routine rate (a key of :data:`RATE_BASES`).

    Parameters
    ----------
    share : numpy.ndarray of float64, shape (n_labs,)
        The median account's unexplained share (``NaN``: no access).
    rate : numpy.ndarray of float64, shape (n_labs,)
        The rate used (:func:`~labforensics.features.explained.routine_rate`).

    Returns
    -------
    numpy.ndarray of object, shape (n_labs,)
        ``"none"``, ``"bound"`` (below ``max(share, 6 %)``), ``"share"`` (the share,
        above 6 %) or ``"floor"``.

    Examples
    --------
    >>> import numpy as np
    >>> rate_basis(np.array([0.0, 0.03, 0.2, np.nan]), np.array([0.06, 0.037, 0.2, 0.06])).tolist()
    ['floor', 'bound', 'share', 'none']
    """
    share = np.asarray(share, dtype="float64")
    rate = np.asarray(rate, dtype="float64")
    floor = 1.0 - EXPLAINED_SHARE_EHR
    point = np.maximum(np.nan_to_num(share, nan=0.0), floor)
    return np.where(
        np.isnan(share),
        "none",
        np.where(rate < point * (1 - 1e-12), "bound", np.where(share > floor, "share", "floor")),
    ).astype(object)


def _num(x: Any, digits: int = 6) -> float | None:
    v = float(x)
    return None if math.isnan(v) else round(v, digits)


def explanation_summary(labs: pd.DataFrame, windows: pd.DataFrame) -> list[dict[str, Any]]:
    """One JSON-safe row per lab: its explanation signal, routine rate and windows.

    Parameters
    ----------
    labs : pandas.DataFrame
        :attr:`Explanation.labs` rows (``lab``, ``accesses``, ``clinical_events``,
        ``explained_share``, ``median_accesses``, ``usable``, ``unexplained_rate``), of
        one lab or many; a lab given twice (the account batches of one lab) counts once.
    windows : pandas.DataFrame
        :attr:`Explanation.windows` rows (``lab``, ``role``, ``window_days``,
        ``n_gaps``, ``basis``).

    Returns
    -------
    list of dict
        In lab order: ``lab``, ``explanation_signal`` (bool), ``patient_reads`` (int),
        ``clinical_events`` (int), ``median_account_reads`` (float),
        ``median_account_explained_share`` (float, 0-1, ``None`` when no read),
        ``routine_rate`` (float, 0-1), ``rate_basis`` (a key of :data:`RATE_BASES`) and
        ``rate_basis_text`` (its words),
        ``windows`` (list of ``role``, ``days``, ``basis``, ``n_gaps``, by role).
        Floats are rounded to 6 decimals (the same evidence, the same bytes).
    """
    if labs is None or not len(labs):
        return []
    lt = labs.drop_duplicates("lab").sort_values("lab", kind="stable")
    share = 1.0 - lt["explained_share"].to_numpy(dtype="float64")
    basis = rate_basis(share, lt["unexplained_rate"].to_numpy(dtype="float64"))
    wins: dict[str, list[dict[str, Any]]] = {}
    if windows is not None and len(windows):
        w = windows.drop_duplicates(["lab", "role"]).sort_values(["lab", "role"], kind="stable")
        for r in w.itertuples(index=False):  # one row per (lab, role): a few dozen
            wins.setdefault(str(r.lab), []).append(
                {
                    "role": str(r.role),
                    "days": _num(r.window_days, 3),
                    "basis": str(r.basis),
                    "n_gaps": int(r.n_gaps),
                }  # fmt: skip
            )
    out = []
    for r, b in zip(lt.itertuples(index=False), basis, strict=True):
        out.append({
            "lab": str(r.lab),
            "explanation_signal": bool(r.usable),
            "patient_reads": int(r.accesses),
            "clinical_events": int(r.clinical_events),
            "median_account_reads": _num(r.median_accesses, 1),
            "median_account_explained_share": _num(r.explained_share),
            "routine_rate": _num(r.unexplained_rate),
            "rate_basis": str(b),
            "rate_basis_text": RATE_BASES[str(b)],
            "windows": wins.get(str(r.lab), []),
        })  # fmt: skip
    return out
