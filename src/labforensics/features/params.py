"""Parameters of :func:`labforensics.features.build_features`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from ..errors import ParameterError
from ..networks import parse_networks


@dataclass(frozen=True)
class FeatureParams:
    """Parameters of :func:`build_features`.

    Attributes
    ----------
    tz : str
        Time zone of the labs' local time (days, months, hours), default ``Europe/Paris``.
    night : tuple[int, int]
        Night as local hours ``(start, end)``: 21 to 6 means 21:00-05:59.
    lab_networks, vendor_networks : tuple[str, ...]
        CIDR blocks of the labs' and of the vendor's networks. Case facts kept here
        only until the pipeline passes ``build_features(..., networks=)`` (a
        :class:`~labforensics.networks.NetworkMap` built from the case); used only
        when ``networks`` is not given. Default: none (no RFC 1918 guess), so
        every non-local address is ``unknown`` and the ``net_*`` features are 0.
    lab_networks_by_lab : Mapping[str, tuple[str, ...]]
        Extra CIDR blocks of one lab's network, by lab code (added to
        ``lab_networks`` for that lab); same status as ``lab_networks``.
    min_history : int
        Least number of units in a group for a baseline (own or peer) to be used.
    warmup : pandas.Timedelta
        First-seen signals count only this long after the lab's first event.
    min_lab_patients : int
        Floor of the denominator of ``share_lab_patients`` (patients).
    """

    tz: str = "Europe/Paris"
    night: tuple[int, int] = (21, 6)
    lab_networks: tuple[str, ...] = ()
    vendor_networks: tuple[str, ...] = ()
    lab_networks_by_lab: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    min_history: int = 5
    warmup: pd.Timedelta = pd.Timedelta("14D")
    min_lab_patients: int = 100

    def __post_init__(self) -> None:
        if not (0 <= self.night[0] <= 23 and 0 <= self.night[1] <= 23):
            raise ParameterError(f"FeatureParams.night={self.night}: hours must be 0-23")
        if self.min_history < 2:
            raise ParameterError("FeatureParams.min_history must be >= 2 (a median needs data)")
        parse_networks((*self.lab_networks, *self.vendor_networks))
        for nets in self.lab_networks_by_lab.values():
            parse_networks(nets)
