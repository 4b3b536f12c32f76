"""The note counting the FTP transfers read, every one in one category (QA session 11).

Until session 11 the note said "32 FTP transfers read; 13 linked to an extraction; 16
downloads of files no logged extraction names": the 3 uploads (and any download of a
file an extraction names but outside its window) were in no category, and 13 counted
links (a transfer following two extractions of one file is two links), not transfers.
The note now accounts for each transfer read: linked; download of a file no logged
extraction names; other download not linked; upload not linked; other not linked.
"""

from __future__ import annotations

import pandas as pd

from .._plural import counted

__all__ = ["transfer_note"]

#: The columns that tell one transfer from another (the link table carries them too).
_KEY_TR = ("ts", "file_base", "remote_host", "direction", "source_file", "source_line")
_KEY_LINK = ("transfer_ts", "file_base", "remote_host", "direction", "source_file",
             "source_line")  # fmt: skip


def _keys(df: pd.DataFrame, cols: tuple[str, ...]) -> pd.Series:
    """One text key per row: the transfer's time, file, host, direction and line."""
    parts = []
    for c in cols:
        s = df[c] if c in df.columns else pd.Series(pd.NA, index=df.index)
        if c == "direction" or c == "file_base":
            s = s.astype("string").str.lower()
        elif c.endswith("ts"):
            s = pd.to_datetime(s, utc=True).astype("string")
        parts.append(s.astype("string").fillna("\x00"))
    key = parts[0]
    for p in parts[1:]:
        key = key + "\x1f" + p
    return key


def transfer_note(tr: pd.DataFrame, links: pd.DataFrame) -> str:
    """The note on the transfers read: how many, and each in exactly one category.

    Parameters
    ----------
    tr : pandas.DataFrame
        The transfers read (``ts``, ``file_base``, ``direction``: ``download`` /
        ``upload``, ``remote_host``, ``source_file``, ``source_line``).
    links : pandas.DataFrame
        The transfers linked to an extraction (``transfer_ts``, ``file_base``,
        ``direction``, ``remote_host``, ``source_file``, ``source_line``), one row per
        (extraction, transfer) pair.

    Returns
    -------
    str
        "N FTP transfers read; L linked to an extraction; D downloads of files no
        logged extraction names", then the other downloads and the uploads left
        unlinked when there are any; the counts add up to N.
    """
    linked_keys = set(_keys(links, _KEY_LINK)) if len(links) else set()
    linked = _keys(tr, _KEY_TR).isin(linked_keys).to_numpy(bool) if len(tr) else []
    direction = tr["direction"].astype("string").str.lower().fillna("")
    named = tr["file_base"].astype(str).str.lower().isin(links["file_base"].astype(str).str.lower())
    down = (direction == "download").to_numpy(bool)
    up = (direction == "upload").to_numpy(bool)
    rest = ~pd.Series(linked, index=tr.index, dtype=bool).to_numpy(bool)
    n_linked = int(len(tr) - rest.sum())
    unnamed = int((rest & down & ~named.to_numpy(bool)).sum())
    late = int((rest & down & named.to_numpy(bool)).sum())
    uploads = int((rest & up).sum())
    other = int((rest & ~down & ~up).sum())
    pairs = f" ({len(links):,} links: a transfer can follow several extractions)" if (
        len(links) != n_linked) else ""  # fmt: skip
    text = (f"{len(tr):,} FTP transfers read; {n_linked:,} linked to an extraction{pairs}; "
            f"{unnamed:,} downloads of files no logged extraction names")  # fmt: skip
    if late:
        text += (f"; {counted(f'{late:,}', 'other download')} linked to no extraction (files "
                 "an extraction names, fetched before it)")  # fmt: skip
    if uploads:
        text += f"; {counted(f'{uploads:,}', 'upload')} linked to no extraction"
    if other:
        text += (f"; {counted(f'{other:,}', 'other transfer')} (deletions, no direction) "
                 "linked to no extraction")  # fmt: skip
    return text
