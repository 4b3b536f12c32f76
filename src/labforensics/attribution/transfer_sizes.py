"""Downloads whose size is not that of the upload they are credited through (step 5 of
:mod:`labforensics.attribution`).

A download is credited to the export whose file the server held at its path: the last
upload of that path before it (:func:`~labforensics.attribution.linking.credit_transfers`).
That rests on the log showing every write to the path. A complete binary download
carries the bytes the server held; when they are not the bytes of that upload, the file
was changed in a way the log does not show (a gap in the log, a write through another
channel, a decoy put in its place), and which export the download took is uncertain.
ASCII transfers (line endings converted) and transfers compressed or archived on the fly
(xferlog's special-action flags ``C``, ``U``, ``T``) change the size by design and are
not compared (xferlog(5): transfer-type ``a``/``b``, special-action-flag).
"""

from __future__ import annotations

import pandas as pd

from .._plural import counted

__all__ = ["size_mismatches", "size_note"]

#: The columns that tell one transfer line from another in the log and in the links.
_LINE = ("source_file", "source_line")


def size_mismatches(tr: pd.DataFrame | None, links: pd.DataFrame) -> tuple[int, int]:
    """How many credited downloads were compared with their upload's size, and how many
    of them differ.

    Parameters
    ----------
    tr : pandas.DataFrame or None
        The transfers read (:func:`~labforensics.transfers.read_transfers`: ``ts``,
        ``file_name`` the server path, ``bytes``, ``direction``, ``transfer_type``,
        ``special_action``, ``completion``, ``source_file``, ``source_line``).
    links : pandas.DataFrame
        The links (``direction``, ``credited``, ``source_file``, ``source_line``).

    Returns
    -------
    compared, differing : int
        Complete binary downloads credited to an export, whose path was uploaded
        (binary, no on-the-fly action, size known) at or before them; and those whose
        size is not that last upload's.

    Examples
    --------
    >>> t = pd.Timestamp("2020-06-01", tz="UTC")
    >>> tr = pd.DataFrame({"ts": [t, t + pd.Timedelta(hours=1), t + pd.Timedelta(hours=2)],
    ...     "file_name": ["/pub/L02.csv"] * 3, "bytes": [5000, 5000, 120],
    ...     "direction": ["upload", "download", "download"], "transfer_type": ["b"] * 3,
    ...     "special_action": ["_"] * 3, "completion": ["c"] * 3,
    ...     "source_file": ["xferlog"] * 3, "source_line": [1, 2, 3]})
    >>> links = pd.DataFrame({"direction": ["download", "download"], "credited": [True, True],
    ...     "source_file": ["xferlog"] * 2, "source_line": [2, 3]})
    >>> size_mismatches(tr, links)
    (2, 1)
    """
    need = {"ts", "file_name", "bytes", "direction", *_LINE}
    if tr is None or tr.empty or links.empty or not need <= set(tr.columns):
        return 0, 0
    credited = links[links["direction"].astype("string").eq("download").fillna(False)
                     & links["credited"].fillna(False).astype(bool)]  # fmt: skip
    if credited.empty:
        return 0, 0
    plain = _plain(tr)
    direction = tr["direction"].astype("string").str.lower()
    size = pd.to_numeric(tr["bytes"], errors="coerce")
    base = pd.DataFrame({
        "t": pd.to_datetime(tr["ts"], utc=True).dt.tz_convert(None).to_numpy("datetime64[ns]"),
        "path": tr["file_name"].astype("string").to_numpy(), "size": size.to_numpy("float64"),
        "sf": tr["source_file"].astype("string").to_numpy(),
        "sl": pd.to_numeric(tr["source_line"], errors="coerce").to_numpy("float64"),
    })  # fmt: skip
    ok = (plain & size.notna() & tr["file_name"].notna()).to_numpy(dtype=bool)
    ups = base[ok & direction.eq("upload").fillna(False).to_numpy(dtype=bool)]
    complete = tr["completion"].astype("string").str.lower().fillna("c").ne("i") if (
        "completion" in tr.columns) else pd.Series(True, index=tr.index)  # fmt: skip
    downs = base[ok & (direction.eq("download") & complete).fillna(False).to_numpy(dtype=bool)]
    keys = pd.DataFrame({"sf": credited["source_file"].astype("string").to_numpy(),
                         "sl": pd.to_numeric(credited["source_line"], errors="coerce")
                         .to_numpy("float64")}).drop_duplicates()  # fmt: skip
    downs = downs.merge(keys, on=["sf", "sl"])
    if downs.empty or ups.empty:
        return 0, 0
    held = pd.merge_asof(downs.sort_values("t", kind="stable"),
                         ups[["t", "path", "size"]].rename(columns={"size": "up_size"})
                         .sort_values("t", kind="stable"),
                         on="t", by="path", direction="backward")  # fmt: skip
    held = held[held["up_size"].notna()]
    return int(len(held)), int((held["size"] != held["up_size"]).sum())


def size_note(compared: int, differing: int) -> str | None:
    """The note on credited downloads of another size than their upload, or None.

    Examples
    --------
    >>> size_note(4, 1)[:64]
    '1 of 4 complete binary downloads credited to an export is not th'
    >>> size_note(4, 0) is None
    True
    """
    if not differing:
        return None
    one = differing == 1
    return (f"{differing:,} of {counted(f'{compared:,}', 'complete binary download')} "
            f"credited to an export {'is' if one else 'are'} not the size of the last "
            f"upload of {'its path before it' if one else 'their path before them'}: the "
            "file on the server changed in a way the transfer log does not show (a gap in "
            "the log, a write by another channel), so which export "
            f"{'it' if one else 'they'} took is uncertain")  # fmt: skip


def _plain(tr: pd.DataFrame) -> pd.Series:
    """Transfers whose size is the file's: binary, no compression or archive on the fly
    (missing flags: taken as plain)."""
    binary = (tr["transfer_type"].astype("string").str.lower().fillna("b") == "b"
              if "transfer_type" in tr.columns else pd.Series(True, index=tr.index))  # fmt: skip
    action = (tr["special_action"].astype("string").fillna("_").isin(["_", ""])
              if "special_action" in tr.columns else pd.Series(True, index=tr.index))  # fmt: skip
    return (binary & action).fillna(False).astype(bool)
