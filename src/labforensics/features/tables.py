"""Feature tables returned by :func:`labforensics.features.build_features`."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from .params import FeatureParams


@dataclass(frozen=True)
class FeatureTable:
    """Features of one scored unit.

    Attributes
    ----------
    unit : str
        ``"session"``, ``"account_day"`` or ``"account_month"``.
    keys : pandas.DataFrame
        Identifiers and times (never features): ``session_id``, ``lab``,
        ``account``, ``account_kind``, ``role``, ``start``, ``end`` for sessions;
        ``lab``, ``account``, ``account_kind``, ``role``, ``day`` (local
        ``YYYY-MM-DD``) or ``month`` (``YYYY-MM``), ``start``, ``end`` otherwise.
    values : pandas.DataFrame
        Numeric features, ``float64``, same index as ``keys`` (see the module doc).
    key_columns : tuple[str, ...]
        The columns of ``keys`` that identify a row (and break ties in ranking).
    """

    unit: str
    keys: pd.DataFrame
    values: pd.DataFrame
    key_columns: tuple[str, ...]

    def frame(self) -> pd.DataFrame:
        """Keys and values side by side, as one DataFrame."""
        return pd.concat([self.keys, self.values], axis=1)

    def __len__(self) -> int:
        return len(self.keys)


@dataclass(frozen=True)
class Features:
    """The three feature tables returned by :func:`build_features`.

    ``params`` are the knobs used; ``tz`` the case's time zone the local days and
    months were taken in (:func:`labforensics.score` carries session rules up to the
    account-day and account-month in the same zone). ``notes`` holds values computed
    from the evidence that a report states: ``"explain_window"`` (a DataFrame, one
    row per (lab, role): ``lab``, ``role``, ``window_days``, ``n_gaps``, ``basis``;
    the explanation window used, :mod:`labforensics.features.explained`) and
    ``"explain_labs"`` (one row per lab: ``accesses``, ``clinical_events``,
    ``explained_share``, ``median_accesses``, ``usable``, ``unexplained_rate``) and ``"night_roster"`` (the distinct ``lab``,
    ``role``, ``night`` of staff accounts' night sessions: the colleagues' nights of
    :mod:`labforensics.features.night`).
    """

    session: FeatureTable
    account_day: FeatureTable
    account_month: FeatureTable
    params: FeatureParams
    tz: str
    notes: dict[str, pd.DataFrame] = field(default_factory=dict)

    def tables(self) -> dict[str, FeatureTable]:
        """Tables by unit name, in scoring order."""
        return {
            "session": self.session,
            "account_day": self.account_day,
            "account_month": self.account_month,
        }
