"""Uploads logged before any export of their file: the transfer log's clock checked
against the audit logs' (step 5 of :mod:`labforensics.attribution`).

An FTP upload moves a file that exists: it cannot come before the export that wrote it.
The links (:func:`~labforensics.attribution.linking._link_transfers`) therefore take an
upload only at or after an export of its name, less ``transfer_skew_h`` of clock skew.
When the transfer log is read in the wrong zone, its times are shifted by the zones'
difference (an FTP server logging in UTC read as Central European Time: one hour in
winter, two in summer, every upload that much earlier): the uploads beyond the skew fell out of the
links without a word, and those within it were linked with their delays wrong. A
timeline built from several clocks checks them against each other before it relies on
their order, from events whose order is known by causality (Stevens, "Unification of
relative time frames for digital forensics", Digital Investigation 1(3), 2004; Schatz,
Mohay and Clark, "A correlation method for establishing provenance of timestamps in
digital evidence", DFRWS 2006): an export comes before the upload of its file.

This module counts the uploads by an account logged before **any** export of their
file's name (by more than :data:`TOLERANCE_MIN`, a few minutes of drift between two
unsynchronised clocks) with an export of that name soon after (within
:data:`WINDOW_H`), and says so with the median gap. An upload that some earlier export
of its name explains is never counted, however long after that export it came (QA
session 21: a nightly export at 03:15 uploaded at 16:00 was compared with the next
night's export, nearer in time, and the note called every upload early). The price: a
job rewriting one name every day shows a shifted clock by its first upload only (each
later one has the day before's export behind it).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._plural import counted
from .linking import _utc_naive

__all__ = ["CLOCK_MARK", "clock_note", "upload_gaps"]

#: Widest gap (hours) between an upload and the export after it for the two to be
#: compared: the largest difference between two civil time zones (UTC-12 to UTC+14).
WINDOW_H = 26.0
#: Minutes an upload may precede the first export of its name before it is counted:
#: two clocks kept by hand (no NTP) drift apart by seconds to minutes a month.
TOLERANCE_MIN = 10.0
#: Words every clock note holds (:func:`labforensics.report.findings` lists the note
#: among the limits).
CLOCK_MARK = "logged before any export of that name"


def upload_gaps(outb: pd.DataFrame, tr: pd.DataFrame | None) -> tuple[int, np.ndarray]:
    """The uploads compared with the exports of their file's name, and the gaps of those
    logged before any.

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
    compared : int
        Uploads by an account (anonymous uploads are nobody's export) of a name some
        export wrote within :data:`WINDOW_H` hours either side (names compared without
        letter case).
    gaps : numpy.ndarray
        ``(k,)`` float64, hours, negative, in the transfer log's order: for each of them
        logged more than :data:`TOLERANCE_MIN` before every export of its name, its
        time minus that of the first export after it.

    Examples
    --------
    >>> t = pd.Timestamp("2020-07-01 10:00", tz="UTC")
    >>> outb = pd.DataFrame({"ts": [t], "files": [["L02.csv"]]})
    >>> tr = pd.DataFrame({"ts": [t - pd.Timedelta(hours=2), t + pd.Timedelta(hours=6)],
    ...                    "file_base": ["l02.CSV", "L02.csv"], "direction": ["upload"] * 2,
    ...                    "access_mode": ["r", "r"], "user": ["v", "v"]})
    >>> n, gaps = upload_gaps(outb, tr)
    >>> n, gaps.tolist()
    (2, [-2.0])
    """
    none = (0, np.zeros(0))
    if tr is None or tr.empty or outb.empty or "files" not in outb.columns:
        return none
    ex = outb.loc[outb["files"].notna(), ["ts", "files"]].explode("files")
    ex = ex.dropna(subset=["files"])
    if ex.empty:
        return none
    exports = pd.DataFrame({
        "fb": ex["files"].astype(str).str.lower().to_numpy(), "t": _utc_naive(ex["ts"]),
    }).sort_values("t", kind="stable")  # fmt: skip
    up = tr[(tr["direction"].astype("string").str.lower() == "upload").fillna(False)
            & ~_anonymous(tr)]  # fmt: skip
    if up.empty:
        return none
    tol = pd.Timedelta(minutes=TOLERANCE_MIN)
    window = pd.Timedelta(hours=WINDOW_H)
    t = _utc_naive(up["ts"])
    uploads = pd.DataFrame({"fb": up["file_base"].astype(str).str.lower().to_numpy(),
                            "t": t, "i": np.arange(len(up))}).sort_values(["t", "i"])  # fmt: skip
    # the last export of the name at or before the upload (tolerance given), at any time
    before = pd.merge_asof(uploads.assign(t=uploads["t"] + tol),
                           exports.assign(t_before=exports["t"]), on="t", by="fb",
                           direction="backward")["t_before"].to_numpy()  # fmt: skip
    # the first export of the name after that, within the window
    after = pd.merge_asof(uploads.assign(t=uploads["t"] + tol),
                          exports.assign(t_after=exports["t"]), on="t", by="fb",
                          direction="forward", allow_exact_matches=False,
                          tolerance=window)["t_after"].to_numpy()  # fmt: skip
    ts = uploads["t"].to_numpy()
    has_before = ~pd.isna(before)
    near_before = has_before & (ts - before.astype("datetime64[ns]") <= window)
    has_after = ~pd.isna(after)
    compared = int((near_before | has_after).sum())
    early = ~has_before & has_after
    gap = (ts[early] - after[early].astype("datetime64[ns]")) / np.timedelta64(1, "h")
    order = np.argsort(uploads["i"].to_numpy()[early], kind="stable")
    return compared, np.asarray(gap, dtype="float64")[order]


def clock_note(compared: int, gaps: np.ndarray, skew_h: float, tz: str) -> str | None:
    """The note on uploads logged before any export of their file, or None when none is.

    Parameters
    ----------
    compared, gaps
        :func:`upload_gaps`.
    skew_h : float
        Clock skew the links allow (``AttributionParams.transfer_skew_h``, hours).
    tz : str
        The zone the transfer log was read in (``CaseContext.transfer_zone``).

    Returns
    -------
    str or None
        How many, their median gap and how many of them are beyond ``skew_h`` (those
        are linked to no export); when they are most of the uploads compared, that the
        log's clock or zone likely differs from the audit logs' (the case file's
        ``[case] transfers_tz``).

    Examples
    --------
    >>> clock_note(3, np.array([-2.0, -1.9]), 1.0, "Europe/Brussels")[:66]
    '2 of 3 FTP uploads of a file an export names are logged before any'
    """
    if not len(gaps):
        return None
    one = len(gaps) == 1
    beyond = int((gaps < -skew_h).sum())
    linked = (f"within the {skew_h:g} h of clock skew the links allow, so linked with "
              "their delays short" if not beyond else
              f"{'' if one else 'all '}beyond the {skew_h:g} h of clock skew the links "
              "allow, so linked to no export" if beyond == len(gaps) else
              f"{beyond:,} beyond the {skew_h:g} h of clock skew the links allow, linked "
              "to no export")  # fmt: skip
    text = (f"{len(gaps):,} of {counted(f'{compared:,}', 'FTP upload')} of a file an export "
            f"names {'is' if one else 'are'} {CLOCK_MARK}, by more than "
            f"{TOLERANCE_MIN:g} min (median {float(np.median(gaps)):+.1f} h; {linked}): an "
            "upload cannot precede the file it moves")  # fmt: skip
    if 2 * len(gaps) > compared:
        text += ("; most uploads are, so the transfer log's clock or time zone likely "
                 f"differs from the audit logs' (read in {tz}: check the case file's "
                 "[case] transfers_tz)")  # fmt: skip
    else:
        text += " (a name uploaded before its export wrote it, or a clock wrong for a while)"
    return text


def _anonymous(tr: pd.DataFrame) -> pd.Series:
    """Anonymous transfers (xferlog access mode ``a``, or user ``anonymous``/``ftp``)."""
    mode = tr["access_mode"].astype("string").str.lower() == "a"
    user = tr["user"].astype("string").str.lower().isin(["anonymous", "ftp"])
    return (mode | user).fillna(False).astype(bool)
