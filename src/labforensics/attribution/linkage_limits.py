"""The Limits lines about the leak's record linkage (QA session 14, item 3).

Which sentence is said follows what was run, not whether a rate came out: a dump of
people read and linked (``prep["n_rows_linked"]`` not None) is never "a list of
identifiers", even when no dump row linked (then no false-match rate can be measured).

A linkage trained on a small dump is said to be one. The Fellegi-Sunter weights are
estimated from the dump's own pairs by expectation-maximisation (Splink's unsupervised
training; Winkler, 1988), and the false-match rate is measured on the same rows by a
decoy index. With ``n`` dump rows and no decoy link at all, the rate's 95 % upper bound
is about ``3 / n`` (the "rule of three": Hanley and Lippman-Hand, *JAMA* 249, 1983,
pp. 1743-1745); below ``3 / fmr_target`` rows (300 at the linkage's 1 % target,
:class:`~labforensics.leak.linkage.LinkageParams`) the dump cannot show a rate at the
target even when it holds no false link, so the linkage's rates are not measured and its
classes (unique, household, ambiguous) rest on weights barely trained.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["FMR_TARGET", "MIN_DUMP_ROWS", "linkage_lines"]

#: The linkage's false-match target (``LinkageParams.fmr_target``'s default; not
#: imported, so the conclusion does not load the linkage's modules).
FMR_TARGET = 0.01

#: The fewest dump rows on which a false-match rate at :data:`FMR_TARGET` can be shown
#: (rule of three, module docstring): ceil(3 / 0.01) = 300.
MIN_DUMP_ROWS = math.ceil(3 / FMR_TARGET)


def linkage_lines(prep: dict[str, Any], fmr_line: str | None) -> list[str]:
    """The Limits lines about the linkage of a run with a leak.

    Parameters
    ----------
    prep : dict
        :func:`~labforensics.attribution.lab_data.prepare`'s result: ``n_rows_linked``
        (None for a list of identifiers), ``dump_rows`` and ``index_rows`` (None when
        unknown).
    fmr_line : str or None
        The false-match rate's line when a rate was measured.

    Returns
    -------
    list of str
    """
    if prep.get("n_rows_linked") is None and not fmr_line:
        return ["the leak is a list of identifiers: no linkage, no false-match rate"]
    out = [fmr_line] if fmr_line else [
        "linkage false-match rate not measured: no dump row was linked at the threshold, "
        "so no share of false links among the linked rows can be estimated"
    ]  # fmt: skip
    rows = prep.get("dump_rows")
    if isinstance(rows, int) and 0 < rows < MIN_DUMP_ROWS:
        idx = prep.get("index_rows")
        against = f" against {idx:,} patient index record(s)" if isinstance(idx, int) else ""
        out.append(
            f"the record linkage was trained and its false-match rate measured on {rows:,} dump "
            f"row(s){against}: below {MIN_DUMP_ROWS:,} rows even a dump with no decoy link "
            f"leaves the rate's 95 % upper bound (3/n, the rule of three) above the "
            f"{100 * FMR_TARGET:g} % target, and the match weights are estimated (EM, "
            "Fellegi-Sunter) from a handful of pairs: the linkage's rates are not measured on "
            "so small a dump, and its classes (unique, household, ambiguous) may be wrong"
        )
    return out
