"""Checks of a case file's facts that tie entries together (QA session 11).

Each section is read on its own by :mod:`labforensics.case`; these checks compare
entries: one account listed under two kinds (matched after NFC and case folding, as
the authorisation register matches accounts), two ``[[labs]]`` with the same code or
the same FINESS number or alias (a FINESS in a lab column could not be mapped), and a
vendor network overlapping a lab network (an address cannot be both the vendor's and
a lab's: the class it gets would depend on the order of the checks), and
``[networks.by_lab]`` keys resolved to lab codes through the ``[[labs]]`` aliases.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from .errors import ParameterError
from .identity import canonical_account
from .labcodes import canonical_lab
from .networks import NetworkMap, parse_networks

__all__ = ["account_kinds_of", "check_labs", "check_network_overlaps", "resolve_by_lab"]


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


def check_labs(entries: Iterable[tuple[str, tuple[str, ...]]], p: Path) -> dict[str, str]:
    """Refuse two ``[[labs]]`` entries with the same code, one FINESS/alias twice, or an
    alias that is another entry's code; give the alias -> code mapping.

    Codes and aliases are compared in the canonical form of the evidence's labs
    (:func:`labforensics.labcodes.canonical_lab`: ``l07`` is ``L07``). An alias naming
    another lab's code (``code="L07" finess="L08"`` beside ``code="L08"``) would move
    that lab's events to the first lab without a word (QA session 13).

    Parameters
    ----------
    entries : iterable of (str, tuple of str)
        Each entry's code and its FINESS numbers and aliases, as written, in file order.
    p : Path
        The case file (named in errors).

    Returns
    -------
    dict of str to str
        Canonical alias -> canonical code.

    Raises
    ------
    ParameterError
        Naming both entries (1-based, with their codes) and the repeated value.
    """
    canon: list[tuple[str, list[str]]] = []
    for i, (code, names) in enumerate(entries, start=1):
        c = canonical_lab(code)
        if c is None:
            raise ParameterError(f"case file {p}: [[labs]] entry {i} has an empty 'code'")
        als = [a for a in map(canonical_lab, names) if a is not None]
        canon.append((c, als))
    codes: dict[str, int] = {}
    for i, (code, _) in enumerate(canon, start=1):
        if code in codes:
            raise ParameterError(
                f"case file {p}: [[labs]] entries {codes[code]} and {i} have the same code "
                f"{code!r}; keep one entry per lab"
            )
        codes[code] = i
    aliases: dict[str, tuple[int, str]] = {}
    for i, (code, names) in enumerate(canon, start=1):
        for a in names:
            if a in codes and a != code:
                j = codes[a]
                raise ParameterError(
                    f"case file {p}: [[labs]] entry {i} ({code}) gives FINESS/alias {a!r}, "
                    f"which is the code of entry {j} ({a}): that lab's events would be "
                    f"moved to {code}; give each lab its own numbers"
                )
            if a in aliases and aliases[a][1] != code:
                j, other = aliases[a]
                raise ParameterError(
                    f"case file {p}: [[labs]] entries {j} ({other}) and {i} ({code}) both give "
                    f"FINESS/alias {a!r}: a lab column holding it could not be mapped; give "
                    "each number to one lab"
                )
            aliases.setdefault(a, (i, code))
    return {a: c for a, (_, c) in aliases.items() if a != c}


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


def resolve_by_lab(
    by_lab: Mapping[str, list[str]], aliases: Mapping[str, str], p: Path
) -> dict[str, list[str]]:
    """``[networks.by_lab]`` keyed by lab code: a FINESS number or alias is its lab's code.

    A key is made canonical (:func:`labforensics.labcodes.canonical_lab`: ``l07`` is
    ``L07``) and then resolved through the ``[[labs]]`` aliases, as every other place
    naming a lab is: a key ``"750000001"`` (the FINESS of ``L07``) gives L07's blocks
    (before, they were kept under ``750000001``, a lab no event has, and L07's
    addresses were classified without them).

    Parameters
    ----------
    by_lab : mapping of str to list of str
        Key as written -> its blocks as written, in file order.
    aliases : mapping of str to str
        Canonical alias -> canonical code (:func:`check_labs`).
    p : Path
        The case file (named in errors).

    Returns
    -------
    dict of str to list of str
        Lab code -> blocks, in file order.

    Raises
    ------
    ParameterError
        Two keys naming the same lab with different blocks (both keys named): which
        blocks are the lab's cannot be told. The same blocks under both are one entry.
    """
    out: dict[str, list[str]] = {}
    first: dict[str, str] = {}
    for k, blocks in by_lab.items():
        c = canonical_lab(k) or str(k)
        c = aliases.get(c, c)
        if c not in out:
            out[c], first[c] = list(blocks), str(k)
            continue
        where = f"network of lab {k}"
        if set(parse_networks(blocks, where)) != set(parse_networks(out[c], where)):
            raise ParameterError(
                f"case file {p}: [networks.by_lab] keys {first[c]!r} and {str(k)!r} both name "
                f"lab {c} with different blocks ({out[c]} and {list(blocks)}): give the "
                "lab's blocks under one key"
            )
    return out
