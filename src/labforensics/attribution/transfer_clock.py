"""Uploads that precede the export of their file: the transfer log's clock checked
against the audit logs' (step 5 of :mod:`labforensics.attribution`).

An FTP upload moves a file that exists: it cannot come before the export that wrote it.
The links (:func:`~labforensics.attribution.linking._link_transfers`) therefore take an
upload only at or after the export, less ``transfer_skew_h`` of clock skew. When the
transfer log is read in the wrong zone, its times are shifted by the zones' whole-hour
difference (an FTP server logging in UTC read as Europe/Paris: one hour in winter, two
in summer, every upload that much earlier), and the uploads fall out of the links
without a word. A timeline built from several clocks checks them against each other
before it relies on their order, from events whose order is known by causality
(Stevens, "Unification of relative time frames for digital forensics", Digital
Investigation 1(3), 2004; Schatz, Mohay and Clark, "A correlation method for
establishing provenance of timestamps in digital evidence", DFRWS 2006): an export
comes before the upload of its file. This module counts the uploads that precede the
nearest export of their file's name and says so, with the median gap, when any does.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._plural import counted

__all__ = ["upload_gaps", "clock_note"]

#: Widest gap (hours) between an upload and an export of its name for the two to be
#: compared: the largest difference between two civil time zones (UTC-12 to UTC+14).
WINDOW_H = 26.0


def upload_gaps(outb: pd.DataFrame, tr: pd.DataFrame | None) -> np.ndarray:
    """Each upload's gap to the export of its file's name nearest in time.

    Parameters
    ----------
    outb : pandas.DataFrame
        Export and extraction events with ``ts`` (UTC) and ``files`` (the base names
        their text names: a list, or None).
    tr : pandas.DataFrame or None
        The transfers read (``ts`` UTC, ``file_base``, ``direction``, ``access_mode``,
        ``user``).

    Returns
    -------
    numpy.ndarray
        ``(k,)`` float64, hours (upload time minus export time; negative: the upload is
        logged before the export), one per upload by an account (anonymous uploads are
        nobody's export) of a name some export wrote within :data:`WINDOW_H` hours
        either side (names compared without letter case), in the transfer log's order.

    Examples
    --------
    >>> t = pd.Timestamp("2020-07-01 10:00", tz="UTC")
    >>> outb = pd.DataFrame({"ts": [t], "files": [["L02.csv"]]})
    >>> tr = pd.DataFrame({"ts": [t - pd.Timedelta(hours=2)], "file_base": ["l02.CSV"],
    ...                    "direction": ["upload"], "access_mode": ["r"], "user": ["v"]})
    >>> upload_gaps(outb, tr).tolist()
    [-2.0]
    """
    if tr is None or tr.empty or outb.empty or "files" not in outb.columns:
        return np.zeros(0)
    ex = outb.loc[outb["files"].notna(), ["ts", "files"]].explode("files")
    ex = ex.dropna(subset=["files"])
    if ex.empty:
        return np.zeros(0)
    exports = pd.DataFrame({
        "fb": ex["files"].astype(str).str.lower().to_numpy(),
        "t": _utc_naive(ex["ts"]),
    }).assign(t_ex=lambda d: d["t"])  # fmt: skip
    up = tr[(tr["direction"].astype("string").str.lower() == "upload").fillna(False)
            & ~_anonymous(tr)]  # fmt: skip
    if up.empty:
        return np.zeros(0)
    uploads = pd.DataFrame({
        "fb": up["file_base"].astype(str).str.lower().to_numpy(),
        "t": _utc_naive(up["ts"]), "i": np.arange(len(up)),
    })  # fmt: skip
    near = pd.merge_asof(
        uploads.sort_values(["t", "i"], kind="stable"),
        exports.sort_values("t", kind="stable"), on="t", by="fb", direction="nearest",
        tolerance=pd.Timedelta(hours=WINDOW_H),
    ).dropna(subset=["t_ex"]).sort_values("i", kind="stable")  # fmt: skip
    return ((near["t"] - near["t_ex"]).dt.total_seconds() / 3600.0).to_numpy(dtype="float64")


def clock_note(gaps: np.ndarray, skew_h: float, tz: str) -> str | None:
    """The note on uploads logged before the export of their file, or None when none is.

    Parameters
    ----------
    gaps : numpy.ndarray
        :func:`upload_gaps`, hours.
    skew_h : float
        Clock skew allowed (``AttributionParams.transfer_skew_h``, hours).
    tz : str
        The zone the transfer log was read in (``CaseContext.transfer_zone``).

    Returns
    -------
    str or None
        How many uploads precede their file's nearest export by more than ``skew_h``
        (those are linked to no export), their median gap, and, when they are most of
        the uploads compared, that the log's clock or zone likely differs from the
        audit logs' (the case file's ``[case] transfers_tz``).

    Examples
    --------
    >>> clock_note(np.array([-2.0, -1.9, 0.1]), 1.0, "Europe/Paris")[:60]
    '2 of 3 uploads of a file an export names are logged before t'
    """
    early = gaps[gaps < -skew_h]
    if not len(early):
        return None
    text = (f"{len(early):,} of {counted(f'{len(gaps):,}', 'upload')} of a file an export "
            f"names {'is' if len(early) == 1 else 'are'} logged before the nearest export "
            f"of that name, by more than the {skew_h:g} h of clock skew allowed (median "
            f"{float(np.median(early)):+.1f} h), and linked to no export: an upload "
            "cannot precede the file it moves")  # fmt: skip
    if 2 * len(early) > len(gaps):
        text += (f"; most uploads are, so the transfer log's clock or time zone likely "
                 f"differs from the audit logs' (read in {tz}: check the case file's "
                 "[case] transfers_tz)")  # fmt: skip
    else:
        text += " (a name another export reused, or a clock wrong for a while)"
    return text


def _anonymous(tr: pd.DataFrame) -> pd.Series:
    """Anonymous transfers (xferlog access mode ``a``, or user ``anonymous``/``ftp``)."""
    mode = tr["access_mode"].astype("string").str.lower() == "a"
    user = tr["user"].astype("string").str.lower().isin(["anonymous", "ftp"])
    return (mode | user).fillna(False).astype(bool)


def _utc_naive(s: pd.Series) -> np.ndarray:
    """Instants as ``datetime64[ns]`` (UTC, no zone)."""
    return pd.to_datetime(s, utc=True).dt.tz_convert(None).to_numpy(dtype="datetime64[ns]")
