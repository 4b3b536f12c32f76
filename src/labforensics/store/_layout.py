"""Layout of an evidence store, and the rules that make it incremental.

Layout (``DIR`` is the store)::

    DIR/manifest.json            the store's manifest: format, evidence root, ingest
                                 options, case-key fingerprint, every input (path,
                                 source_file, size, SHA-256, format, group, file date),
                                 and the log of ingests (added, already ingested, groups
                                 re-processed)
    DIR/ingest_report.json       the row accounting of the whole store (IngestReport.to_dict)
    DIR/quarantine.csv           every quarantined row of the whole store (redacted); these
                                 two are hashed in the manifest's ``checksums`` (``/3``)
    DIR/events/lab=L01/month=2020-03/part-<group version>.parquet
                                 the events, hive-partitioned by ``lab`` (the event's lab)
                                 and ``month`` (``YYYY-MM`` of ``ts`` in UTC); each group
                                 writes one part per partition it has events in
    DIR/groups/<group version>/report.json    the group's file reports, unrecognised
                                              files, unknown codes, custody records
    DIR/groups/<group version>/quarantine.parquet  its quarantine, in evidence order
    DIR/groups/<group version>/field_problems.parquet

A group version (:func:`group_version`) names one content of a group; the manifest's
``groups`` maps each group to its version, its parts and the ``checksums`` (SHA-256,
size, Parquet rows) of every file the version wrote, verified before the store is read
(:mod:`labforensics.store._verify`). Only what the manifest names is
read. An ingest records each version it is about to write in ``DIR/.versions-in-progress``
(:data:`IN_PROGRESS`, removed once the manifest is in place): the files of a version
listed there and not in the manifest (an ingest killed part-way) are ignored, and
removed by the next ingest; any other file under ``events/`` or ``groups/`` that the
manifest does not list makes the store refused (altered after ingest,
:func:`labforensics.store._verify.unlisted_files`). An ingest that fails or is stopped (Ctrl-C, ``SIGTERM``)
removes them itself, and a first ingest everything it wrote; one ingest at a time, and
no investigation while one runs (:mod:`labforensics.store._guard`).

Groups. Files are read group by group: a *group* is every file of one lab (its lab as
its reader names it from the file name, e.g. ``AUDIT_L01_20200301.csv``, else as read from
its rows), or a single file that names no lab (``file:<source_file>``) with its
byte-identical copies (``file:`` the first of their names, :mod:`._copies`). A group is
read at once by :func:`labforensics.read_evidence`: rotation duplicates between
neighbouring files of a lab, a copy's rows counted as its original's, the newest-first
reading, the redaction of known identifiers in free text (the known
IPPs and request numbers are a lab's) all see exactly what a read of the whole evidence
sees. Adding a file re-processes its whole group (every file of that lab, re-read from
its recorded path and checked against its recorded SHA-256): a late file changes its
neighbours' rotation duplicates and may make known an IPP written in another file's free
text, so the lab, not only the neighbours, is re-processed. Memory held at once is one
group's read (its files' events, as :func:`read_evidence` holds them) plus its Parquet
parts being written; never more than one group.

``seq`` in the store does not shift: it is the event's position in its file's logical
order (after a newest-first file is reversed), rotation duplicates included, so that
removing or adding duplicates at a file's head never renumbers the file's other events.
The evidence order of an event is (file date, ``source_file``, ``seq``), the file date
being the one in its name (none: after every dated file) as :func:`read_evidence` orders
files; :func:`~labforensics.store.load_store` turns it into the dense ``seq`` a read of
the whole evidence gives.

``source_file`` is relative to the store's evidence root (``manifest.json`` ``root``):
the common folder of the first ingest's files unless ``root`` is given; a later file
outside it is refused. A read of the whole evidence names files relative to their common
folder: the two agree when that folder is the store's root.
"""

from __future__ import annotations

import hashlib
from urllib.parse import quote

from ..errors import EvidenceError

#: Version of the store layout, in ``manifest.json`` ``format``. ``/3`` records the
#: SHA-256 of the top files ``ingest_report.json`` and ``quarantine.csv`` too (the
#: manifest's ``checksums``, as each group's), verified with the store's other files.
STORE_FORMAT = "labforensics-store/3"
#: Earlier formats still read: ``/2`` recorded no SHA-256 of the top files (derived from
#: the group files, never read by an investigation): read with those two unverified; an
#: ingest adding to it rewrites them and writes a ``/3`` manifest.
OLDER_FORMATS = ("labforensics-store/2",)
#: Formats this labforensics refuses with a reason of their own: ``/1`` recorded no
#: SHA-256 of the store's own files (:mod:`labforensics.store._verify`).
UNVERIFIABLE_FORMATS = ("labforensics-store/1",)

MANIFEST = "manifest.json"
REPORT = "ingest_report.json"
QUARANTINE = "quarantine.csv"
#: The top files the manifest hashes (``checksums``, format ``/3``).
TOP_FILES = (REPORT, QUARANTINE)
EVENTS_DIR = "events"
GROUPS_DIR = "groups"
#: The group versions an ingest is writing, one a line (its journal: the files of these
#: versions, when the manifest does not name them, are an ingest's cut short by SIGKILL).
IN_PROGRESS = ".versions-in-progress"
#: The partition columns (hive), in path order.
PARTITIONS = ("lab", "month")
#: A file date absent from the name sorts after every date (as ``datetime.date.max``).
NO_DATE = "9999-12-31"


class StoreError(EvidenceError):
    """An evidence store that cannot be used as asked (names the store, the file, the fix)."""


def group_id(group: str) -> str:
    """A file-system-safe, stable id of a group (``lab:L01``, ``file:<source_file>``).

    The first 16 hex digits of the SHA-256 of the group's name: a lab's name may hold
    any character, its id only ``[0-9a-f]``.
    """
    return hashlib.sha256(group.encode("utf-8")).hexdigest()[:16]


def group_version(group: str, shas: list[str]) -> str:
    """The id of one version of a group's content: ``<group id>-<12 hex digits>``.

    Derived from the SHA-256 of every file of the group (sorted), so the same files give
    the same name whatever the order of the ingests; a new version is written beside the
    old one, which is deleted only once the manifest names the new one (an ingest cut
    short leaves the store as it was, plus unreferenced files the next ingest removes).
    """
    h = hashlib.sha256("\n".join(sorted(shas)).encode("ascii")).hexdigest()[:12]
    return f"{group_id(group)}-{h}"


def partition_dir(lab: str, month: str) -> str:
    """``lab=<lab>/month=<month>``, each value URI-encoded (as pyarrow's hive partitioning
    decodes it)."""
    return f"lab={quote(lab, safe='')}/month={quote(month, safe='')}"
