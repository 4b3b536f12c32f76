"""Synthetic multi-lab LIS audit evidence with ground truth.

:func:`generate` writes, into one folder::

    evidence/<LAB>/AUDIT_<LAB>_<YYYYMMDD>.csv[.gz]   legacy dialect, until the lab's migration
    evidence/<LAB>/audit_<lab>_<YYYY-MM-DD>.csv      current dialect, from the migration date
    leak/leaked_ipps.csv                             lab;ipp of every patient extracted in incident (a)
    leak/leaked_nirs.csv                             nir of the same patients (synthetic, valid INSEE key)
    leak/patient_index_<LAB>.csv                     IPP;NIR of every patient of a lab
    transfers/xferlog                                wu-ftpd xferlog of the vendor's FTP server
    truth.json                                       parameters, labs, incidents, traps, artefacts, accounting
    truth_events.parquet                             one row per written event (source_file, source_line, ...)
    truth_sessions.parquet                           the generator's own sessions

Incidents: (a) the vendor's migration account extracts every registered
patient of a lab at night shortly before the lab's migration, and the file is
then fetched anonymously from the FTP server; (b) low-and-slow exports by the
shared vendor hotline account; (c) an outside attacker: a burst of failed
logins on a staff account from a new external address, then a login and an
export; (d) a staff member browsing hundreds of unrelated patients.

Benign traps that naive rules flag: monthly billing exports, the yearly
statistics extraction, the HPRIM interface transmitting every result, the
nightly purge/backup job.
"""

from __future__ import annotations

import json
from pathlib import Path

from .generator import TRUTH_EVENT_COLUMNS, SynthError, SynthResult, generate

__all__ = ["generate", "load_truth", "SynthResult", "SynthError", "TRUTH_EVENT_COLUMNS"]


def load_truth(out: str | Path) -> dict:
    """Parsed ``truth.json`` of a generated folder.

    Parameters
    ----------
    out : str or Path
        The folder given to :func:`generate`.

    Returns
    -------
    dict
        Keys ``parameters``, ``labs``, ``incidents``, ``traps``, ``artefacts``,
        ``hostile``, ``transfers``, ``leak``, ``accounting``, ``counts``,
        ``generator``, ``layout``. Event-level truth is in
        ``truth_events.parquet`` (read it with :func:`pandas.read_parquet`).

    Raises
    ------
    SynthError
        When the folder holds no ``truth.json``.
    """
    p = Path(out) / "truth.json"
    if not p.exists():
        raise SynthError(
            f"{p} does not exist; generate the folder with labforensics.synth.generate"
        )
    return json.loads(p.read_text(encoding="utf-8"))
