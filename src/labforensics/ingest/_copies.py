"""Byte-identical copies: every row of a copy is a duplicate of its original's.

A file whose bytes are those of a file read before it (the same SHA-256, read for the
same lab) holds the same rows: the first file read with them (the original, the one
:attr:`~labforensics.ingest.accounting.IngestReport.identical_copies` names) keeps
them; every row of the copy, whatever it would have been (an event, an ignored or
quarantined line, a repeated header), is counted in the copy's ``rotation_duplicates``
and nothing else: no event, no quarantined line, no field problem, no unknown code of
its own. So ``rows_read = rotation_duplicates`` for a copy and the identity of
:mod:`labforensics.ingest.accounting` holds.

This holds for every reader: the LIS readers, whose rows give one event each, and the
readers whose rows may give several (FHIR bundles, ATNA messages, syslog repeat
summaries) or none (syslog lines out of scope). Until QA session 15 only the first kind
was read once: a copy of ``OpenSSH_2k.log`` beside it doubled every event (1,070 for
535), made one sitting three sessions and doubled the failed logins, while the report
named it a copy with "0 of its 2,000 rows counted as rotation duplicates".

Known limit: a batch of LIS files read at once (:class:`~labforensics.ingest.registry.
BatchRead`) counts its unknown action codes over the whole batch, so a copy's share of
them cannot be taken off; a file read alone (every other reader) has its own.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._engine import Job, _File
from .accounting import IngestReport

__all__ = ["forget_copies", "identical_copies"]


def identical_copies(
    files: Sequence[_File], shas: Sequence[str], f_count: np.ndarray, skip: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The byte-identical copies among the recognised files, and their rows dropped.

    A copy is a file whose SHA-256 and lab (as read: ``FileRead.lab``) are those of a
    file before it in evidence order, wherever it falls in that order (not only right
    after its original, as the rotation rule would see it). A copy read for another lab
    (the lab taken from the folder, not the rows) is not one here: its rows stay that
    lab's, as given (:attr:`~labforensics.ingest.accounting.IngestReport.identical_copies`
    still names it).

    Parameters
    ----------
    files : sequence of _File
        The recognised files in evidence order.
    shas : sequence of str
        Each file's SHA-256 (hex), in the same order.
    f_count : numpy.ndarray
        int64, rows of the pool of each file (its events as emitted).
    skip : numpy.ndarray
        int64, pool rows dropped at the head of each file
        (:func:`~labforensics.ingest.rotation._rotation`).

    Returns
    -------
    skip : numpy.ndarray
        ``skip`` with a copy's whole pool rows (none of its events is kept).
    copy : numpy.ndarray
        bool, True for each copy.
    """
    out = skip.copy()
    copy = np.zeros(len(files), dtype=bool)
    first: dict[tuple[str, object], int] = {}
    for k, (f, sha) in enumerate(zip(files, shas, strict=True)):
        key = (sha, f.fr.lab)
        if key in first:
            out[k] = f_count[k]
            copy[k] = True
        else:
            first[key] = k
    return out, copy


def forget_copies(
    files: Sequence[_File],
    copy: np.ndarray,
    jobs: Sequence[Job],
    report: IngestReport,
    lab_notes: list[dict[str, object]],
) -> None:
    """Take off what a copy's rows gave besides events: they are its original's.

    The copies' quarantined lines and field problems (listed under the original's
    name), their unknown action codes (counted in ``report.unknown_codes`` when read)
    and their notes of rows without a lab (``lab_notes``). In place.

    Parameters
    ----------
    files : sequence of _File
        The recognised files in evidence order.
    copy : numpy.ndarray
        bool, True for each copy (:func:`identical_copies`).
    jobs : sequence of Job
        The units of work (``jobs[f.job][1]`` is a file's ``source_file``).
    report : IngestReport
        Its ``unknown_codes`` lose the copies'.
    lab_notes : list of dict
        The field problems of rows without a lab; the copies' are removed.
    """
    names = set()
    for k in np.flatnonzero(copy).tolist():
        fr = files[k].fr
        for code, n in fr.unknown_codes.items():  # a file read alone: its own codes
            left = report.unknown_codes.get(code, 0) - n
            if left > 0:
                report.unknown_codes[code] = left
            else:
                report.unknown_codes.pop(code, None)
        fr.quarantine = []
        fr.field_problems = []
        names.add(jobs[files[k].job][1])
    if names:
        lab_notes[:] = [n for n in lab_notes if n.get("source_file") not in names]
