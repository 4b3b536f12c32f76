"""Checks of a case file's facts that tie entries together (QA session 11).

Each section is read on its own by :mod:`labforensics.case`; these checks compare
entries: one account listed under two kinds (matched after NFC and case folding, as
the authorisation register matches accounts), two ``[[labs]]`` with the same code or
the same FINESS number or alias (a FINESS in a lab column could not be mapped), and a
vendor network overlapping a lab network (an address cannot be both the vendor's and
a lab's: the class it gets would depend on the order of the checks).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from .errors import ParameterError
from .identity import canonical_account
from .networks import NetworkMap

__all__ = ["account_kinds_of", "check_labs", "check_network_overlaps"]


def account_kinds_of(lists: Mapping[str, Iterable[str]], p: Path) -> dict[str, str]:
    """Account -> kind of the ``[accounts]`` lists, keyed by the NFC account.

    Parameters
    ----------
    lists : mapping of str to iterable of str
        Kind (``vendor``, ``service``) -> the accounts listed under it, as written.
    p : Path
        The case file (named in errors).

    Returns
    -------
    dict of str to str

    Raises
    ------
    ParameterError
        One account (equal after NFC and case folding) listed under two kinds, naming
        both spellings and kinds.
    """
    kinds: dict[str, str] = {}
    seen: dict[str, tuple[str, str]] = {}
    for kind, accounts in lists.items():
        for a in accounts:
            c = canonical_account(a, casefold=True)  # as the register matches accounts
            assert c is not None
            if c in seen and seen[c][1] != kind:
                also = "" if seen[c][0] == a else (
                    f" (as {seen[c][0]!r}: the same account, matched after NFC "
                    "case-insensitively)"
                )  # fmt: skip
                raise ParameterError(
                    f"case file {p}: account {a!r} is listed as both {seen[c][1]} and {kind} "
                    f"in [accounts]{also}; keep one"
                )
            seen.setdefault(c, (a, kind))
            kinds[str(canonical_account(a))] = kind
    return kinds


def check_labs(entries: Iterable[tuple[str, tuple[str, ...]]], p: Path) -> None:
    """Refuse two ``[[labs]]`` entries with the same code, or one FINESS/alias twice.

    Parameters
    ----------
    entries : iterable of (str, tuple of str)
        Each entry's code and its FINESS numbers and aliases, in file order.
    p : Path
        The case file (named in errors).

    Raises
    ------
    ParameterError
        Naming both entries (1-based, with their codes) and the repeated value.
    """
    codes: dict[str, int] = {}
    aliases: dict[str, tuple[int, str]] = {}
    for i, (code, names) in enumerate(entries, start=1):
        if code in codes:
            raise ParameterError(
                f"case file {p}: [[labs]] entries {codes[code]} and {i} have the same code "
                f"{code!r}; keep one entry per lab"
            )
        codes[code] = i
        for a in names:
            if a in aliases and aliases[a][1] != code:
                j, other = aliases[a]
                raise ParameterError(
                    f"case file {p}: [[labs]] entries {j} ({other}) and {i} ({code}) both give "
                    f"FINESS/alias {a!r}: a lab column holding it could not be mapped; give "
                    "each number to one lab"
                )
            aliases.setdefault(a, (i, code))


def check_network_overlaps(nm: NetworkMap, p: Path) -> None:
    """Refuse a vendor network that overlaps a lab network (``lab`` or ``by_lab``).

    Parameters
    ----------
    nm : NetworkMap
        The ``[networks]`` section, parsed.
    p : Path
        The case file (named in errors).

    Raises
    ------
    ParameterError
        Naming both networks (and the lab of a ``by_lab`` block).
    """
    for v, n, where in nm.vendor_lab_overlaps()[:1]:
        raise ParameterError(
            f"case file {p}: vendor network {v} (networks.vendor) overlaps lab network "
            f"{n} ({where}): an address cannot be both the vendor's and a lab's; "
            "make the blocks disjoint (list the lab's blocks around the vendor's)"
        )
