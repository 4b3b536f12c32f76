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

With ``linkage=True`` also the leak-linkage case tied to this evidence
(:mod:`labforensics.synth.tie`): ``patients/PATIENTS_<LAB>.csv`` (the audit
labs' patients: same IPPs, registration days, last visits), ``dump/*`` (copied
at the scenario's incident: by default incident (a)'s extractions),
``linkage_truth.parquet``, ``index_truth.parquet``, ``linkage_truth.json``.

Incidents: (a) the vendor's migration account extracts every registered
patient of a lab at night shortly before the lab's migration, and the file is
then fetched anonymously from the FTP server; (b) low-and-slow exports by the
shared vendor hotline account; (c) an outside attacker: a burst of failed
logins on a staff account from a new external address, then a login and an
export; (d) a staff member browsing hundreds of unrelated patients.

Benign traps that naive rules flag: monthly billing exports, the yearly
statistics extraction, the HPRIM interface transmitting every result, the
nightly purge/backup job.

The world
---------
Labs ``L01``... (FINESS with a Luhn key, 1-3 sites, network ``10.<k>.0.0/16``)
are open on weekdays and Saturday mornings, closed on French public holidays
(``holidays``, FR). Staff (BIOLOGISTE, TECHNICIEN, SECRETAIRE, PRELEVEUR,
ADMIN_LABO) work in sessions that start with CONNEXION and mostly end with
DECONNEXION; gaps inside a session stay under 25 min and sessions of one
account are at least 35 min apart, so a 30-minute idle timeout recovers them
(some biologists on call work past midnight). The vendor hotline
(``hotline.editeur``, EDITEUR) is shared and connects from five vendor places
in ``172.16.0.0/16``; the migration account ``migration.editeur`` comes from
``172.16.50.10``. Service accounts (INTERFACE): ``hprim.emission`` sends every
biological validation, ``automate01`` posts instrument results,
``batch.nuit`` on ``SRV-<LAB>`` runs a purge and backup from 01:40 local every
night, through the 02:00-03:00 hour of clock-change nights. Patients are
registered day by day; IPPs are 8-digit strings unique per lab only (ranges
overlap between labs); NIRs are random with a valid INSEE key.

truth.json
----------
``parameters`` (every argument, seed), ``generator``, ``layout``;
``labs``: ``code``, ``finess``, ``size``, ``sites``, ``migration_date``,
``dialect_switch`` {``legacy_until``, ``current_from``}, ``gzip_before``,
``networks``, ``patients_registered``, ``patients_initial``, ``accounts``;
``incidents``: ``id`` (``a-L07``), ``kind``, ``vector`` (vendor, external,
insider), ``lab``, ``account``, ``role``, ``window`` {``start``, ``end``} (UTC
ISO), ``n_events``, ``events`` ([source_file, source_line] pairs), plus
per-kind facts (a: ``file``, ``records``, ``bytes``, ``horizon``; b:
``exported_records``, ``src_ip``; c: ``src_ip``, ``host``, ``failed_logins``;
d: ``consultations``, ``days``); ``traps``: same keys, kinds ``billing``,
``statistics`` (with events), ``interface``, ``nightly_job`` (with counts);
``artefacts``: ``kind``, ``file``, ``line`` (+ details) for rotation_overlap,
repeated_header, cut_line, gzip_cut, wrong_width, bad_date, unknown_action,
nonexistent_hour, fallback_hour; ``hostile``: lab, field, value, account;
``transfers``: per extraction file, the upload and anonymous downloads;
``leak``; ``accounting``: ``totals`` and ``files`` {source_file: rows_read,
events, rotation_duplicates, repeated_headers, quarantined, ignored,
truncated}, what a correct reader counts under the format doc's rules.

truth_events.parquet has one row per written event (rows lost in a cut gzip
member have ``lost`` true): ``source_file`` (relative to ``evidence/``,
POSIX), ``source_line`` (1-based physical line where the record starts),
``ts`` (UTC), ``ts_quality`` (what a correct reader reports), ``lab``,
``site``, ``account``, ``role``, ``host``, ``src_ip``, ``module``, ``action``
(code as written), ``outcome``, ``ipp`` (raw), ``request``, ``records``,
``bytes``, ``app_session``, ``detail`` (as written), ``incident``, ``trap``,
``session`` (row of truth_sessions, -1 for failed logins and interface
events). truth_sessions.parquet: ``session``, ``lab``, ``account``, ``role``,
``start``, ``end``, ``n_events``, ``n_lost``, ``has_logout``, ``host`` (of
its first event), ``concurrent`` (overlaps another session of the same
account), ``failed_logins_before`` (failed logins generated just before it),
``app_session``, ``incident``, ``trap``.

Variants
--------
``generate(..., variant=NAME)`` (``labforensics synth --variant NAME``) writes
evidence not shaped for the rules, with ``case.toml`` and the authorisation
register ``authorisations.csv``: see :mod:`labforensics.synth.variants`.

The leak without its lab column is one line of pandas:
``pd.read_csv(out / "leak/leaked_ipps.csv", sep=";", dtype=str)["ipp"]``.
"""

from __future__ import annotations

import json
from pathlib import Path

from .generator import TRUTH_EVENT_COLUMNS, SynthError, SynthResult, generate
from .linkage import PRESETS, SCENARIOS, LinkageCase, LinkageSettings, generate_linkage_case
from .variants import VARIANTS

__all__ = ["generate", "load_truth", "SynthResult", "SynthError", "TRUTH_EVENT_COLUMNS"]
__all__ += ["generate_linkage_case", "LinkageSettings", "LinkageCase", "PRESETS", "SCENARIOS"]
__all__ += ["VARIANTS"]


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
