"""Classifying addresses into networks: ``local``, ``lab``, ``vendor``, ``other``, ``unknown``.

Two classifiers live here for now, moved unchanged from the stages that used them:
:class:`_Networks` (attribution) and :func:`_net_class` (features). Nothing here
imports a stage.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from .errors import ParameterError

_NET_PRIORITY = ("other", "vendor", "unknown", "lab", "local")


def _parse_nets(cidrs: Iterable[str]) -> list[ipaddress._BaseNetwork]:
    nets = []
    if isinstance(cidrs, str):  # one block given bare
        cidrs = [cidrs]
    for c in cidrs:
        try:
            nets.append(ipaddress.ip_network(str(c).strip(), strict=False))
        except ValueError as exc:
            raise ParameterError(f"network {c!r} is not a CIDR block: {exc}") from exc
    return nets


class _Networks:
    """Classifies addresses: ``local``, ``lab``, ``vendor``, ``other``, ``unknown``."""

    def __init__(
        self,
        lab_networks: Mapping[str, Sequence[str]] | Sequence[str],
        vendor_networks: Sequence[str],
    ) -> None:
        ln = lab_networks
        if isinstance(ln, Mapping):
            self.per_lab = {str(k): _parse_nets(v) for k, v in ln.items()}
            self.all_lab = [n for v in self.per_lab.values() for n in v]
        else:
            self.per_lab = {}
            self.all_lab = _parse_nets(ln)
        self.vendor = _parse_nets(vendor_networks)
        self.configured = bool(self.all_lab)
        self._cache: dict[tuple[str, str], str] = {}

    def classify(self, ip: object, lab: str | None = None) -> str:
        if ip is None or ip is pd.NA or (isinstance(ip, float) and math.isnan(ip)):
            return "local"
        s = str(ip).strip()
        ck = (s, lab or "")
        if ck in self._cache:
            return self._cache[ck]
        res = self._classify(s, lab)
        self._cache[ck] = res
        return res

    def _classify(self, s: str, lab: str | None) -> str:
        if s in ("", "-", "localhost"):
            return "local"
        try:
            a = ipaddress.ip_address(s.split("%")[0])
        except ValueError:
            return "unknown"
        if a.is_loopback or a.is_unspecified:
            return "local"
        if any(a in n for n in self.vendor):
            return "vendor"
        nets = self.per_lab.get(lab, self.all_lab) if lab is not None else self.all_lab
        if any(a in n for n in nets):
            return "lab"
        if not self.configured and a.is_private:
            return "lab"
        return "other"

    def session_class(self, ips: Iterable[object], lab: str | None) -> str:
        classes = {self.classify(i, lab) for i in ips} or {"local"}
        for c in _NET_PRIORITY:
            if c in classes:
                return c
        return "local"


def _net(cidr: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(cidr, strict=False)
    except ValueError as exc:
        raise ParameterError(
            f"network {cidr!r} is not a CIDR block (write it like '10.20.0.0/16'): {exc}"
        ) from exc


def _net_class(
    ips: pd.Series,
    labs: pd.Series,
    lab_networks: Sequence[str],
    vendor_networks: Sequence[str],
    lab_networks_by_lab: Mapping[str, Sequence[str]],
) -> pd.Series:
    """Network class per row (``lab``, ``vendor``, ``other``), vectorized over distinct pairs."""
    lab_nets = [_net(c) for c in lab_networks]
    vendor_nets = [_net(c) for c in vendor_networks]
    by_lab = {k: [_net(c) for c in v] for k, v in lab_networks_by_lab.items()}
    pairs = pd.DataFrame({"ip": ips.astype("object"), "lab": labs.astype("object")})
    uniq = pairs.drop_duplicates()
    out = []
    for ip, lab in zip(uniq["ip"], uniq["lab"], strict=True):  # one per distinct (ip, lab)
        if ip is None or ip is pd.NA or (isinstance(ip, float) and np.isnan(ip)) or ip == "":
            out.append("lab")
            continue
        try:
            addr = ipaddress.ip_address(str(ip).strip())
        except ValueError:
            out.append("other")
            continue
        if addr.is_loopback:
            out.append("lab")
        elif any(addr in n for n in vendor_nets if n.version == addr.version):
            out.append("vendor")
        elif any(addr in n for n in (*lab_nets, *by_lab.get(lab, ())) if n.version == addr.version):
            out.append("lab")
        else:
            out.append("other")
    uniq = uniq.assign(net=out)
    merged = pairs.merge(uniq, on=["ip", "lab"], how="left", sort=False)
    return pd.Series(merged["net"].to_numpy(), index=ips.index)
