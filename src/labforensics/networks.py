"""One classifier of addresses for every stage: :class:`NetworkMap`.

:meth:`NetworkMap.classify` places an address seen at a lab in one of
:data:`NETWORK_CLASSES`:

``local``
    A missing or empty address (also ``-``), ``localhost``, a loopback or the
    unspecified address (``0.0.0.0``, ``::``): a job on the server itself.
``vendor``
    In one of the vendor's blocks.
``lab``
    In one of the blocks that apply to every lab, or in one of that lab's own
    blocks (per-lab blocks *add* to the common ones; with no lab given, every lab's
    blocks count).
``other``
    An address outside those blocks, when lab blocks are configured for that lab.
``unknown``
    A host name that is not an address, or any non-local address when no lab
    block is configured for that lab: without configured networks nothing can be
    placed, so nothing is called outside (the RFC 1918 guess is gone: private
    addresses are not the lab's by default).

An IPv4-mapped IPv6 address (``::ffff:a.b.c.d``) is read as the IPv4 address; a
zone index (``fe80::1%eth0``) is ignored. This module imports no stage: the stages
receive the :class:`NetworkMap` of the case's facts
(:attr:`labforensics.CaseContext.networks`, built from the case file's
``[networks]`` section and its ``[networks.by_lab]`` table).
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from .errors import ParameterError
from .labcodes import canonical_lab

__all__ = ["NETWORK_CLASSES", "NetworkMap", "parse_networks"]

#: The classes :meth:`NetworkMap.classify` returns.
NETWORK_CLASSES: tuple[str, ...] = ("local", "lab", "vendor", "other", "unknown")

#: Most external first: the class of a set of addresses (a session) is the first of
#: these that one of them has.
_NET_PRIORITY: tuple[str, ...] = ("other", "vendor", "unknown", "lab", "local")

#: Written in place of an address by logs for "none" or "this machine".
_LOCAL_WORDS = frozenset({"", "-", "localhost"})

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_networks(cidrs: str | Iterable[str], where: str = "network") -> tuple[_Network, ...]:
    """CIDR blocks, checked (host bits allowed: ``10.1.2.3/8`` is ``10.0.0.0/8``).

    Parameters
    ----------
    cidrs : str or iterable of str
        One block given bare, or several.
    where : str
        What the blocks are (named in the error).

    Raises
    ------
    ParameterError
        A value that is not a CIDR block (the message names it and the fix).
    """
    if isinstance(cidrs, str):
        cidrs = [cidrs]
    out = []
    for c in cidrs:
        try:
            out.append(ipaddress.ip_network(str(c).strip(), strict=False))
        except ValueError as exc:
            raise ParameterError(
                f"{where} {c!r} is not a CIDR block (write it like '10.20.0.0/16'): {exc}"
            ) from exc
    return tuple(out)


def _missing(x: object) -> bool:
    return x is None or x is pd.NA or (isinstance(x, float) and math.isnan(x))


def _address(s: str) -> _Address | None:
    """The address written ``s`` (zone index dropped, IPv4-mapped read as IPv4), or
    None for a host name."""
    try:
        a = ipaddress.ip_address(s.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(a, ipaddress.IPv6Address) and a.ipv4_mapped is not None:
        return a.ipv4_mapped
    return a


def _within(a: _Address, nets: Sequence[_Network]) -> bool:
    return any(a.version == n.version and a in n for n in nets)


class NetworkMap:
    """The case's networks and the one address classifier of the package.

    Parameters
    ----------
    lab : iterable of str
        CIDR blocks that apply to every lab.
    vendor : iterable of str
        CIDR blocks of the vendor (remote maintenance, FTP server side).
    by_lab : mapping of str to iterable of str
        Extra blocks of one lab, by lab code (added to ``lab`` for that lab).

    Raises
    ------
    ParameterError
        A block that is not CIDR.

    Examples
    --------
    >>> nm = NetworkMap(lab=["10.0.0.0/8"], vendor=["198.51.100.0/24"])
    >>> [nm.classify(a, "L01") for a in (None, "10.1.2.3", "198.51.100.7", "8.8.8.8", "pc-12")]
    ['local', 'lab', 'vendor', 'other', 'unknown']
    >>> NetworkMap().classify("8.8.8.8", "L01")
    'unknown'
    """

    def __init__(
        self,
        lab: Iterable[str] = (),
        vendor: Iterable[str] = (),
        by_lab: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        self.lab = parse_networks(lab, "lab network")
        self.vendor = parse_networks(vendor, "vendor network")
        per: dict[str, tuple[_Network, ...]] = {}
        for k, v in (by_lab or {}).items():  # keyed as the evidence's labs: l07 is L07 (QA 13)
            c = canonical_lab(k) or str(k)
            per[c] = per.get(c, ()) + parse_networks(v, f"network of lab {k}")
        self.by_lab: dict[str, tuple[_Network, ...]] = dict(sorted(per.items()))
        self._all_lab = self.lab + tuple(n for v in self.by_lab.values() for n in v)
        self._cache: dict[tuple[str, str | None], str] = {}

    def __repr__(self) -> str:
        by_lab = {k: [str(n) for n in v] for k, v in self.by_lab.items()}
        return (
            f"NetworkMap(lab={[str(n) for n in self.lab]}, "
            f"vendor={[str(n) for n in self.vendor]}, by_lab={by_lab})"
        )

    def __eq__(self, other: object) -> bool:
        """Same blocks (common, vendor and per lab), whatever was classified already."""
        if not isinstance(other, NetworkMap):
            return NotImplemented
        return (self.lab, self.vendor, self.by_lab) == (other.lab, other.vendor, other.by_lab)

    __hash__ = None  # type: ignore[assignment]  # mutable cache; compared by blocks

    @property
    def configured(self) -> bool:
        """Whether any lab block is given (for some lab or for all)."""
        return bool(self._all_lab)

    def vendor_lab_overlaps(self) -> list[tuple[str, str, str]]:
        """Vendor blocks that overlap a lab block (``lab`` or ``by_lab``).

        Returns
        -------
        list of (str, str, str)
            (vendor block, lab block, where the lab block is given: ``networks.lab`` or
            ``networks.by_lab.<lab>``), in the order given; empty when disjoint.
        """
        labs = [(n, "networks.lab") for n in self.lab]
        labs += [(n, f"networks.by_lab.{k}") for k, v in self.by_lab.items() for n in v]
        return [(str(v), str(n), w) for v in self.vendor for n, w in labs
                if v.version == n.version and v.overlaps(n)]  # fmt: skip

    def lab_blocks(self, lab: str | None) -> tuple[_Network, ...]:
        """Blocks of ``lab``'s network: the common ones plus its own (every lab's when
        ``lab`` is None)."""
        if lab is None:
            return self._all_lab
        return self.lab + self.by_lab.get(canonical_lab(lab) or str(lab), ())

    def classify(self, address: object, lab: str | None = None) -> str:
        """Class of one address seen at ``lab`` (see the module doc); cached per pair."""
        if _missing(address):
            return "local"
        s = str(address).strip()
        key = (s, None if lab is None else str(lab))
        if key not in self._cache:
            self._cache[key] = self._classify(s, key[1])
        return self._cache[key]

    def _classify(self, s: str, lab: str | None) -> str:
        if s.lower() in _LOCAL_WORDS:
            return "local"
        a = _address(s)
        if a is None:
            return "unknown"
        if a.is_loopback or a.is_unspecified:
            return "local"
        if _within(a, self.vendor):
            return "vendor"
        nets = self.lab_blocks(lab)
        if _within(a, nets):
            return "lab"
        return "other" if nets else "unknown"

    def classify_many(self, addresses: pd.Series, labs: pd.Series | None = None) -> pd.Series:
        """Class of each address (string Series, same index), computed once per
        distinct (address, lab) pair."""
        pairs = pd.DataFrame(
            {
                "a": addresses.astype("object").to_numpy(),
                "lab": labs.astype("object").to_numpy() if labs is not None else None,
            }
        )
        if pairs.empty:
            return pd.Series([], index=addresses.index, dtype="string")
        codes = pairs.groupby(["a", "lab"], sort=False, dropna=False).ngroup().to_numpy()
        first = np.unique(codes, return_index=True)[1]  # one row per distinct pair
        a, lab = pairs["a"].to_numpy()[first], pairs["lab"].to_numpy()[first]
        cls = np.array(
            [self.classify(x, None if _missing(y) else y) for x, y in zip(a, lab, strict=True)],
            dtype=object,
        )
        return pd.Series(cls[codes], index=addresses.index, dtype="string")

    def session_class(self, addresses: Iterable[object], lab: str | None) -> str:
        """Class of a set of addresses: the most external (:data:`_NET_PRIORITY`)."""
        classes = {self.classify(x, lab) for x in addresses} or {"local"}
        return next(c for c in _NET_PRIORITY if c in classes)
