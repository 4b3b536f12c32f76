"""NIRs written in the evidence's structured columns, for ``reidentify``'s ``N`` ids.

A NIR used as a login, a host or a site name becomes its keyed ``N`` id when the
evidence is read (:mod:`labforensics.ingest._structured_ids`). ``reidentify`` maps an
``N`` id back from the evidence that wrote the number: the readers' rows (before the
redaction) are scanned here with the same patterns, each NIR (whatever its key, as
there) written as the id was keyed from it (fresh-eyes QA 14: such ids were never resolved, and the command did not
say why).
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ._privacy_text import _NIR, _PREFIXES, nir_compact
from .ingest._structured_ids import _HINT, STRUCTURED_TEXT_COLUMNS

__all__ = ["structured_nirs"]


def structured_nirs(lab: pd.Series, events: pd.DataFrame) -> pd.DataFrame:
    """Each NIR written in a structured text column of one file's rows, with its lab.

    Parameters
    ----------
    lab : pandas.Series
        The rows' lab codes (aligned with ``events``).
    events : pandas.DataFrame
        A reader's rows as read (before the structured columns are redacted), any of
        :data:`~labforensics.ingest._structured_ids.STRUCTURED_TEXT_COLUMNS`.

    Returns
    -------
    pandas.DataFrame
        ``lab``, ``value`` (the NIR without its separators, whatever its key:
        :func:`labforensics._privacy_text.nir_compact`, as the ``N`` id was keyed
        from), ``seen_in`` (``"<column> column"``), one row per distinct
        (lab, value, column); raw identifiers: never written to a report.

    Examples
    --------
    >>> ev = pd.DataFrame({"account": ["jdupont", "1 80 01 75 123 456 60", "180017512345661"]})
    >>> structured_nirs(pd.Series(["L01"] * 3), ev)[["lab", "value"]].values.tolist()
    [['L01', '180017512345660'], ['L01', '180017512345661']]
    """
    rows: list[tuple[str, str, str]] = []
    for col in STRUCTURED_TEXT_COLUMNS:
        if col not in events.columns:
            continue
        v = events[col].astype("string").reset_index(drop=True)
        lb = lab.astype("string").reset_index(drop=True)
        arr = pa.array(v.to_numpy(dtype=object, na_value=None), pa.string())
        hint = pc.match_substring_regex(arr, _HINT).fill_null(False).to_numpy(zero_copy_only=False)
        if not hint.any():
            continue
        cand = pd.DataFrame({"lab": lb[hint], "v": v[hint]}).drop_duplicates()
        for lab_code, text in cand.itertuples(index=False):
            for m in _NIR.finditer(str(text)):
                s = m.group(0)
                if s[0] in _PREFIXES:  # a keyed id already
                    continue
                rows.append((lab_code, nir_compact(s), f"{col} column"))
    out = pd.DataFrame(rows, columns=["lab", "value", "seen_in"], dtype="string")
    return out.drop_duplicates().reset_index(drop=True)
