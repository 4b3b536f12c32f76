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
not compared (xferlog(5): transfer-type ``a``/``b``, special-action-flag), nor is a
download after a transfer of its path cut short (a resumed transfer's line counts only
the bytes it moved), nor one whose last upload was ASCII, converted or cut short.
"""

from __future__ import annotations

import pandas as pd

from .._plural import counted
from .linking import _utc_naive

__all__ = ["SIZE_MARK", "size_mismatches", "size_note"]

#: Words every size note holds (:func:`labforensics.report.findings` lists the note
#: among the limits).
SIZE_MARK = "not the size of the last upload"

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
        Complete binary downloads credited to an export whose path's last upload before
        them was complete, binary, with no on-the-fly action and its size logged, and no
        transfer of the path cut short since the upload before that one; and those
        whose size is not that last upload's.

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
    complete = (tr["completion"].astype("string").str.lower().fillna("c").ne("i")
                if "completion" in tr.columns else pd.Series(True, index=tr.index))  # fmt: skip
    base = pd.DataFrame({
        "t": _utc_naive(tr["ts"]),
        "path": tr["file_name"].astype("string").to_numpy(), "size": size.to_numpy("float64"),
        "sf": tr["source_file"].astype("string").to_numpy(),
        "sl": pd.to_numeric(tr["source_line"], errors="coerce").to_numpy("float64"),
        # the size is the file's: binary, no conversion, logged, the transfer ended
        "good": (plain & size.notna() & complete).fillna(False).to_numpy(dtype=bool),
        "up": direction.eq("upload").fillna(False).to_numpy(dtype=bool),
        "down": direction.eq("download").fillna(False).to_numpy(dtype=bool),
        "cut": ~complete.fillna(True).to_numpy(dtype=bool),
    })[tr["file_name"].notna().to_numpy(dtype=bool)]  # fmt: skip
    # every upload of a path (any type: an ASCII or cut-short last upload stops the
    # comparison), with the time of the upload of that path before it
    ups = base[base["up"]].sort_values(["path", "t"], kind="stable")
    ups = ups.assign(t_up=ups["t"], prev_t=ups.groupby("path")["t"].shift(1))
    downs = base[base["down"] & base["good"]]
    keys = pd.DataFrame({"sf": credited["source_file"].astype("string").to_numpy(),
                         "sl": pd.to_numeric(credited["source_line"], errors="coerce")
                         .to_numpy("float64")}).drop_duplicates()  # fmt: skip
    downs = downs.merge(keys, on=["sf", "sl"])
    if downs.empty or ups.empty:
        return 0, 0
    held = pd.merge_asof(downs[["t", "path", "size"]].sort_values("t", kind="stable"),
                         ups[["t", "path", "size", "good", "t_up", "prev_t"]]
                         .rename(columns={"size": "up_size", "good": "up_good"})
                         .sort_values("t", kind="stable"),
                         on="t", by="path", direction="backward")  # fmt: skip
    # a transfer of the path cut short since the upload before the last one: the last
    # upload or the download may be a resumed one (REST), whose line counts only the
    # bytes it moved (QA session 21)
    cut = base[base["cut"]]
    held = pd.merge_asof(held, cut[["t", "path"]].assign(t_cut=cut["t"]).sort_values("t"),
                         on="t", by="path", direction="backward")  # fmt: skip
    resumed = held["t_cut"].notna() & (held["prev_t"].isna() | (held["t_cut"] >= held["prev_t"]))
    held = held[held["up_good"].eq(True) & ~resumed]
    return int(len(held)), int((held["size"] != held["up_size"]).sum())


def size_note(compared: int, differing: int) -> str | None:
    """The note on credited downloads of another size than their upload, or None.

    Examples
    --------
    >>> size_note(4, 1)[:65]
    '1 of 4 complete binary FTP downloads credited to an export is not'
    >>> size_note(4, 0) is None
    True
    """
    if not differing:
        return None
    one = differing == 1
    return (f"{differing:,} of {counted(f'{compared:,}', 'complete binary FTP download')} "
            f"credited to an export {'is' if one else 'are'} {SIZE_MARK} "
            f"of {'its path before it' if one else 'their path before them'}: the "
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
