"""Reasons joined in one text (``"a; b (c; d)"``) split back into their list.

A session's, an account's or a campaign's reasons are written joined by ``"; "``
(:mod:`labforensics.detect`); one reason can hold a ``;`` of its own inside
parentheses ("exported beyond their authorisation (17,636 records; see
exports.parquet for the limits crossed)"). Only a ``;`` outside every parenthesis
separates two reasons (QA session 10, item 4: the report showed that reason as two
bullets, cut inside its parenthesis).
"""

from __future__ import annotations

__all__ = ["split_reasons"]


def split_reasons(text: str) -> list[str]:
    """The reasons of a ``"; "``-joined text, split at top-level ``;`` only.

    Parameters
    ----------
    text : str
        Reasons joined by ``;`` (blanks around each are dropped).

    Returns
    -------
    list of str
        The reasons in their order, each stripped, empty ones left out; a ``;`` inside
        parentheses (depth > 0) stays in its reason. An unbalanced ``)`` counts as depth
        0 (never negative), so a stray one cannot glue the rest of the text together.

    Examples
    --------
    >>> split_reasons("night export; beyond their authorisation (17,636 records; see "
    ...               "exports.parquet for the limits crossed); vendor account")
    ['night export', 'beyond their authorisation (17,636 records; see exports.parquet for \
the limits crossed)', 'vendor account']
    """
    if "(" not in text:
        return [r.strip() for r in text.split(";") if r.strip()]
    parts: list[str] = []
    depth, start = 0, 0
    for i, c in enumerate(text):
        if c == "(":
            depth += 1
        elif c == ")":
            depth = max(depth - 1, 0)
        elif c == ";" and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [r.strip() for r in parts if r.strip()]
