"""The canonical tables: column names, dtypes, units, vocabularies, validation.

Every reader produces the **event table**; :func:`labforensics.sessionize`
produces the **session table**. Both are plain :class:`pandas.DataFrame` objects
whose columns and dtypes are fixed here, so that every stage (and every user
notebook) can rely on them.

Event table
-----------
One row per audit event, sorted by ``ts`` then ``seq`` (evidence order).
Identities are compared in canonical form (:mod:`labforensics.identity`); the
``*_raw`` columns keep them as written.

==================  ========================  =====================================================
column              dtype                     meaning (unit)
==================  ========================  =====================================================
``ts``              datetime64[ns, UTC]       when the event happened (UTC instant)
``ts_quality``      category (TS_QUALITY)     how ``ts`` was obtained from the source's clock
``lab``             string                    lab code (never missing)
``site``            string                    site code within the lab
``account``         string                    the account, canonical: NFC (case-folded only for a
                                              case-insensitive source); may be shared
``account_raw``     string                    the account as written
``role``            string                    role/profile code, upper case (``BIOLOGISTE`` ...)
``account_kind``    category (ACCOUNT_KINDS)  ``staff``, ``vendor``, ``service``, ``unknown``
``host``            string                    workstation / host name, canonical: NFC, lower case
``host_raw``        string                    the host name as written
``src_ip``          string                    source network address, canonical: IPv4-mapped
                                              IPv6 as IPv4, IPv6 compressed; else as written
``src_ip_raw``      string                    the source address as written
``module``          string                    application module, upper case
``action``          category (ACTIONS)        canonical action
``action_raw``      string                    the action code as written
``dicom_event_id``  string                    DICOM PS3.16 CID 400 EventID (``110114`` ...)
``dicom_event_type`` string                   DICOM EventTypeCode (``110122`` login ...)
``outcome``         category (OUTCOMES)       ``success`` or ``failure``
``patient``         string                    keyed pseudonym of (lab, IPP); missing if none
``request``         string                    lab request number
``records``         Int64                     records in a result set / export (records)
``bytes``           Int64                     bytes written by an export/extraction (bytes)
``app_session``     string                    the application's own session id
``message_id``      string                    id shared by events fanned out of one message
``detail``          string                    free text, redacted (see :mod:`labforensics.privacy`)
``source_format``   string                    reader that produced the row (``lis_legacy`` ...)
``source_file``     string                    evidence file, relative to the evidence root
``source_line``     Int64                     physical line (1-based) where the row starts
``seq``             int64                     evidence order: file order, then line order
``session_rule``    category (SESSION_RULES)  how sessions are cut for this row's source (set by
                                              its profile's ``session_rule``; missing: ``idle``)
==================  ========================  =====================================================

Session table
-------------
See :data:`SESSION_COLUMNS`; one row per reconstructed session.

References
----------
DICOM PS3.15 Annex A.5 (audit messages) and PS3.16 CID 400 "Audit Event ID",
CID 401 "Audit Event Type Code"; RFC 3881 (Security Audit and Access
Accountability Message).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .errors import MissingColumnsError, SchemaError

__all__ = [
    "ACCOUNT_KINDS",
    "ACTIONS",
    "DICOM_EVENT_IDS",
    "EVENT_COLUMNS",
    "EVENT_DTYPES",
    "LIS_ACTION_CODES",
    "LIS_MODULES",
    "OUTCOMES",
    "ROLE_ACCOUNT_KIND",
    "SESSION_COLUMNS",
    "SESSION_DTYPES",
    "SESSION_RULES",
    "STRING",
    "STRING_LIST",
    "TS_QUALITY",
    "check_table",
    "coerce_events",
    "is_list_dtype",
    "join_list",
    "empty_events",
    "validate_events",
    "validate_sessions",
]

#: The string dtype used by every text column (Arrow-backed, missing is ``pd.NA``).
STRING = pd.StringDtype("pyarrow")
#: A multi-valued text cell: an Arrow list of strings (``[]`` when none; never ``" | "``-joined).
STRING_LIST = pd.ArrowDtype(pa.list_(pa.string()))
#: UTC instants at nanosecond resolution.
TS = pd.DatetimeTZDtype(unit="ns", tz="UTC")

#: How an event's instant was obtained from the source clock.
TS_QUALITY: tuple[str, ...] = (
    "exact",  # the source gave an unambiguous instant (offset, or a non-ambiguous local time)
    "ambiguous_resolved",  # fall-back hour; which pass resolved from the file's order of lines
    "ambiguous_unresolved",  # fall-back hour; the file's order does not tell: read as the first pass
    "nonexistent_shifted",  # spring-forward hour; clock not switched, read with the winter offset
    "leap_second",  # second 60 (FHIR instant/dateTime, XSD 1.0 dateTime): kept as :59.999999999
    "date_only",  # a day without a time: the start of that local day; never used in durations
)

#: Canonical action vocabulary.
ACTIONS: tuple[str, ...] = (
    "login",
    "logout",
    "login_failed",
    "read",
    "query",
    "print",
    "export",
    "extract",
    "update",
    "validate",
    "transmit",
    "purge",
    "other",
    "break_glass",  # emergency access override (FHIR purpose BTG, DICOM EventTypeCode 110127)
    "job",  # a scheduled job or service session (cron, systemd --user): never a login
    "privilege",  # a change of identity (su, sudo): account = the acting user
)

#: Actions that move patient data out of the application (records count is a volume).
OUTBOUND_ACTIONS: tuple[str, ...] = ("export", "extract")

#: Session rules a source may select (see :mod:`labforensics.sessions`): ``idle``, the
#: login/idle-timeout rules for event-dense logs (the default, also when missing);
#: ``logon_pairs``, a logon paired with the next logoff of the same account and host.
SESSION_RULES: tuple[str, ...] = ("idle", "logon_pairs")

ACCOUNT_KINDS: tuple[str, ...] = ("staff", "vendor", "service", "unknown")
OUTCOMES: tuple[str, ...] = ("success", "failure")

TS_QUALITY_DTYPE = pd.CategoricalDtype(list(TS_QUALITY))
ACTION_DTYPE = pd.CategoricalDtype(list(ACTIONS))
ACCOUNT_KIND_DTYPE = pd.CategoricalDtype(list(ACCOUNT_KINDS))
OUTCOME_DTYPE = pd.CategoricalDtype(list(OUTCOMES))
SESSION_RULE_DTYPE = pd.CategoricalDtype(list(SESSION_RULES))

#: Column -> dtype of the event table, in canonical order.
EVENT_DTYPES: dict[str, object] = {
    "ts": TS,
    "ts_quality": TS_QUALITY_DTYPE,
    "lab": STRING,
    "site": STRING,
    "account": STRING,
    "account_raw": STRING,
    "role": STRING,
    "account_kind": ACCOUNT_KIND_DTYPE,
    "host": STRING,
    "host_raw": STRING,
    "src_ip": STRING,
    "src_ip_raw": STRING,
    "module": STRING,
    "action": ACTION_DTYPE,
    "action_raw": STRING,
    "dicom_event_id": STRING,
    "dicom_event_type": STRING,
    "outcome": OUTCOME_DTYPE,
    "patient": STRING,
    "request": STRING,
    "records": pd.Int64Dtype(),
    "bytes": pd.Int64Dtype(),
    "app_session": STRING,
    "message_id": STRING,
    "detail": STRING,
    "source_format": STRING,
    "source_file": STRING,
    "source_line": pd.Int64Dtype(),
    "seq": np.dtype("int64"),
    "session_rule": SESSION_RULE_DTYPE,
}
EVENT_COLUMNS: tuple[str, ...] = tuple(EVENT_DTYPES)

#: Columns that may never be missing in a valid event table.
EVENT_REQUIRED: tuple[str, ...] = (
    "ts",
    "ts_quality",
    "lab",
    "account_kind",
    "action",
    "outcome",
    "source_format",
    "source_file",
    "seq",
)

#: LIS action code (upper case, both dialects) -> (canonical action, DICOM EventID,
#: DICOM EventTypeCode or None, DICOM EventActionCode).
#: Source: ``shared/formats/lis-audit-csv.md`` ("Canonical mapping to the audit
#: standards") and DICOM PS3.16 CID 400/401.
LIS_ACTION_CODES: dict[str, tuple[str, str, str | None, str]] = {
    "CONNEXION": ("login", "110114", "110122", "E"),
    "DECONNEXION": ("logout", "110114", "110123", "E"),
    "ECHEC_CONNEXION": ("login_failed", "110114", "110122", "E"),
    "CONSULTATION": ("read", "110110", None, "R"),
    "RECHERCHE": ("query", "110112", None, "E"),
    "IMPRESSION": ("print", "110110", None, "R"),
    "EXPORT": ("export", "110106", None, "R"),
    "EXTRACTION": ("extract", "110106", None, "R"),
    "MODIFICATION": ("update", "110110", None, "U"),
    "VALIDATION_TECHNIQUE": ("validate", "110110", None, "U"),
    "VALIDATION_BIOLOGIQUE": ("validate", "110110", None, "U"),
    "TRANSMISSION": ("transmit", "110106", None, "R"),
    "PURGE": ("purge", "110110", None, "D"),
}

#: DICOM PS3.16 CID 400 Audit Event IDs used here, with their meaning.
DICOM_EVENT_IDS: dict[str, str] = {
    "110100": "Application Activity",
    "110101": "Audit Log Used",
    "110102": "Begin Transferring DICOM Instances",
    "110103": "DICOM Instances Accessed",
    "110104": "DICOM Instances Transferred",
    "110105": "DICOM Study Deleted",
    "110106": "Export",
    "110107": "Import",
    "110108": "Network Entry",
    "110109": "Order Record",
    "110110": "Patient Record",
    "110111": "Procedure Record",
    "110112": "Query",
    "110113": "Security Alert",
    "110114": "User Authentication",
}

#: LIS application modules (upper case). Source: ``shared/formats/lis-audit-csv.md``.
LIS_MODULES: tuple[str, ...] = (
    "SAISIE",
    "RECEPTION",
    "TECHNIQUE",
    "VALIDATION",
    "RESULTATS",
    "FACTURATION",
    "SERVEUR_RESULTATS",
    "INTERFACE",
    "EXTRACTION",
    "ADMIN",
)

#: Role code (upper case) -> account kind. Source: the roles listed in
#: ``shared/formats/lis-audit-csv.md``; ``EDITEUR`` is the vendor's hotline and
#: remote-maintenance staff, ``INTERFACE`` the service accounts.
ROLE_ACCOUNT_KIND: dict[str, str] = {
    "BIOLOGISTE": "staff",
    "TECHNICIEN": "staff",
    "SECRETAIRE": "staff",
    "PRELEVEUR": "staff",
    "ADMIN_LABO": "staff",
    "EDITEUR": "vendor",
    "INTERFACE": "service",
}

#: Session start and end reasons (see :func:`labforensics.sessionize`).
START_REASONS: tuple[str, ...] = ("login", "implicit", "app_session")
END_REASONS: tuple[str, ...] = (
    "logout",
    "idle_timeout",
    "max_duration",
    "next_login",
    "app_session_change",
    "end_of_data",
)

#: Column -> dtype of the session table, in canonical order. Counts are numbers of
#: events; ``records_*`` are records (rows of patient data); ``bytes_out`` bytes.
#: Multi-valued text columns (``hosts``, ``src_ips``, ``modules``) are Arrow lists of
#: strings (:data:`STRING_LIST`) holding the sorted distinct values (``[]`` when none);
#: their ``n_*`` twin is the list's length.
SESSION_DTYPES: dict[str, object] = {
    "session_id": STRING,
    "lab": STRING,
    "account": STRING,
    "account_kind": ACCOUNT_KIND_DTYPE,
    "role": STRING,
    "start": TS,
    "end": TS,
    "duration_s": np.dtype("float64"),
    "n_events": np.dtype("int64"),
    "hosts": STRING_LIST,
    "n_hosts": np.dtype("int64"),
    "src_ips": STRING_LIST,
    "n_src_ips": np.dtype("int64"),
    "modules": STRING_LIST,
    "n_modules": np.dtype("int64"),
    "start_reason": pd.CategoricalDtype(list(START_REASONS)),
    "end_reason": pd.CategoricalDtype(list(END_REASONS)),
    "app_session": STRING,
    "records_exported": np.dtype("int64"),
    "records_extracted": np.dtype("int64"),
    "bytes_out": np.dtype("int64"),
    "distinct_patients": np.dtype("int64"),
    "failed_logins_before": np.dtype("int64"),
    "failed_login_src_ips": np.dtype("int64"),
    "concurrent_sessions": np.dtype("int64"),
    **{f"n_{a}": np.dtype("int64") for a in ACTIONS if a != "login_failed"},
}
SESSION_COLUMNS: tuple[str, ...] = tuple(SESSION_DTYPES)


def _dtype_matches(actual: object, expected: object) -> bool:
    if isinstance(expected, pd.CategoricalDtype):
        return isinstance(actual, pd.CategoricalDtype) and list(actual.categories) == list(
            expected.categories
        )
    if isinstance(expected, pd.StringDtype):
        return isinstance(actual, pd.StringDtype)
    if isinstance(expected, pd.DatetimeTZDtype):
        return isinstance(actual, pd.DatetimeTZDtype) and str(actual.tz) == "UTC"
    return actual == expected


def empty_events() -> pd.DataFrame:
    """Return an event table with no rows and the canonical columns and dtypes.

    Returns
    -------
    pandas.DataFrame
        Shape ``(0, len(EVENT_COLUMNS))``.
    """
    return pd.DataFrame({c: pd.Series([], dtype=d) for c, d in EVENT_DTYPES.items()})


def coerce_events(df: pd.DataFrame) -> pd.DataFrame:
    """Return ``df`` with every canonical column present and cast to its dtype.

    Missing columns are added as all-missing. Extra columns are kept after the
    canonical ones. Used by readers; it never drops rows.

    Parameters
    ----------
    df : pandas.DataFrame
        A table with some of the columns of :data:`EVENT_COLUMNS`.

    Returns
    -------
    pandas.DataFrame
        Same number of rows, columns in canonical order, canonical dtypes.

    Raises
    ------
    SchemaError
        When a column cannot be cast (for example a non-numeric ``records``).
    """
    n = len(df)
    out = {}
    for col, dtype in EVENT_DTYPES.items():
        if col in df.columns:
            try:
                s = df[col]
                if isinstance(dtype, pd.DatetimeTZDtype):
                    s = pd.to_datetime(s, utc=True).astype(dtype)
                elif isinstance(dtype, pd.CategoricalDtype) and not isinstance(
                    s.dtype, pd.CategoricalDtype
                ):
                    bad = s.notna() & ~s.isin(list(dtype.categories))
                    if bad.any():
                        vals = sorted({str(v) for v in s[bad].unique()})[:5]
                        raise SchemaError(
                            f"event column {col!r} holds values outside its vocabulary: {vals}"
                        )
                    s = s.astype(dtype)
                else:
                    s = s.astype(dtype)
            except (TypeError, ValueError) as exc:
                raise SchemaError(f"event column {col!r} cannot be cast to {dtype}: {exc}") from exc
            out[col] = s.reset_index(drop=True)
        elif col == "seq":
            out[col] = pd.Series(np.arange(n, dtype="int64"))
        else:
            out[col] = pd.Series(pd.array([None] * n, dtype=dtype) if n else [], dtype=dtype)
    extra = [c for c in df.columns if c not in EVENT_DTYPES]
    res = pd.DataFrame(out)
    for c in extra:
        res[c] = df[c].reset_index(drop=True)
    return res


def _validate(df: pd.DataFrame, dtypes: Mapping[str, object], name: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise SchemaError(f"{name} table must be a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in dtypes if c not in df.columns]
    if missing:
        raise SchemaError(
            f"{name} table lacks columns {missing}; build it with labforensics.read_evidence "
            f"or pass it through labforensics.schema.coerce_events"
        )
    wrong = [
        f"{c}: {df[c].dtype} (expected {dtypes[c]})"
        for c in dtypes
        if not _dtype_matches(df[c].dtype, dtypes[c])
    ]
    if wrong:
        raise SchemaError(f"{name} table has wrong dtypes: " + "; ".join(wrong))


def validate_events(df: pd.DataFrame, *, check_order: bool = True) -> pd.DataFrame:
    """Check that ``df`` is a valid canonical event table and return it.

    Parameters
    ----------
    df : pandas.DataFrame
        Candidate event table.
    check_order : bool, default True
        Also require rows sorted by ``ts`` then ``seq``, and ``seq`` unique.

    Returns
    -------
    pandas.DataFrame
        ``df`` itself (unchanged), for chaining.

    Raises
    ------
    SchemaError
        On a missing column, a wrong dtype, a missing value in a required column
        (:data:`EVENT_REQUIRED`), a negative ``records``/``bytes``, or bad order.
    """
    _validate(df, EVENT_DTYPES, "event")
    for col in EVENT_REQUIRED:
        n_missing = int(df[col].isna().sum())
        if n_missing:
            raise SchemaError(f"event column {col!r} has {n_missing} missing values; it may not")
    for col in ("records", "bytes"):
        neg = int((df[col] < 0).sum())
        if neg:
            raise SchemaError(f"event column {col!r} has {neg} negative values")
    if check_order and len(df) > 1:
        if not df["seq"].is_unique:
            raise SchemaError("event column 'seq' must be unique (evidence order)")
        # compare neighbours instead of subtracting them: a difference of instants more
        # than 292 years apart overflows int64 nanoseconds
        ts = df["ts"].to_numpy(dtype="datetime64[ns]").view("int64")
        seq = df["seq"].to_numpy()
        a, b = ts[:-1], ts[1:]
        bad = (b < a) | ((b == a) & (seq[1:] <= seq[:-1]))
        if bad.any():
            i = int(np.argmax(bad))
            raise SchemaError(
                f"event table is not sorted by (ts, seq): row {i + 1} comes before row {i}; "
                "sort with df.sort_values(['ts', 'seq'], kind='stable')"
            )
    return df


def validate_sessions(df: pd.DataFrame) -> pd.DataFrame:
    """Check that ``df`` is a valid session table and return it.

    Raises
    ------
    SchemaError
        On a missing column, a wrong dtype, a duplicate ``session_id`` or a
        negative duration.
    """
    _validate(df, SESSION_DTYPES, "session")
    if not df["session_id"].is_unique:
        raise SchemaError("session table has duplicate session_id values")
    if (df["duration_s"] < 0).any():
        raise SchemaError("session table has negative durations")
    return df


#: Dtype kinds :func:`check_table` can require of a column.
_KINDS = {
    "datetime": lambda d: (
        isinstance(d, pd.DatetimeTZDtype)
        or (isinstance(d, pd.ArrowDtype) and pa.types.is_timestamp(d.pyarrow_dtype))
        or pd.api.types.is_datetime64_any_dtype(d)
    ),
    "string": lambda d: (
        pd.api.types.is_string_dtype(d) or isinstance(d, pd.CategoricalDtype) or d == np.dtype("O")
    ),
    "numeric": lambda d: pd.api.types.is_numeric_dtype(d) and not pd.api.types.is_bool_dtype(d),
    "list": lambda d: is_list_dtype(d),
}


def check_table(df: object, required: Iterable[str] | Mapping[str, str | None], name: str) -> None:
    """Check that a stage's input table has the columns the stage needs.

    Called as the first statement of every public stage on each input table, so
    that a table built by hand (or by an older version) fails at once with the
    list of what is missing, instead of deep inside the stage or, worse, with a
    silently zero-filled column.

    Parameters
    ----------
    df : pandas.DataFrame
        The input table (not modified).
    required : iterable of str, or mapping of str to str or None
        The columns the stage reads. As a mapping, a column's value names the
        dtype kind it must have: ``"datetime"``, ``"string"`` (string, category
        or object), ``"numeric"`` (not bool) or ``"list"`` (an Arrow list,
        :data:`STRING_LIST`); ``None`` checks presence only.
    name : str
        The stage and the table, for the message (``"build_features: sessions"``).

    Raises
    ------
    MissingColumnsError
        (a :class:`~labforensics.errors.SchemaError`) when ``df`` is not a
        DataFrame, lacks any of ``required`` (all missing columns listed, sorted)
        or has a column of a wrong dtype kind.
    """
    if not isinstance(df, pd.DataFrame):
        raise MissingColumnsError(
            f"{name}: expected a pandas DataFrame, got {type(df).__name__}",
            table=name,
            missing=[],
        )
    kinds = dict(required) if isinstance(required, Mapping) else dict.fromkeys(required)
    missing = sorted(c for c in kinds if c not in df.columns)
    wrong = [
        f"{c!r} is {df[c].dtype} (expected {k})"
        for c, k in kinds.items()
        if k is not None and c in df.columns and not _KINDS[k](df[c].dtype)
    ]
    if not missing and not wrong:
        return
    parts = []
    if missing:
        parts.append(f"lacks columns {missing}")
    if wrong:
        parts.append("has wrong dtypes: " + "; ".join(wrong))
    raise MissingColumnsError(
        f"{name} table " + " and ".join(parts) + "; build it with labforensics.read_evidence "
        "/ sessionize / build_features / score (an event table made by hand: pass it through "
        "labforensics.schema.coerce_events)",
        table=name,
        missing=missing,
    )


def is_list_dtype(dtype: object) -> bool:
    """Whether ``dtype`` is an Arrow list dtype (:data:`STRING_LIST` or another item type)."""
    return isinstance(dtype, pd.ArrowDtype) and (
        pa.types.is_list(dtype.pyarrow_dtype) or pa.types.is_large_list(dtype.pyarrow_dtype)
    )


def join_list(values: pd.Series, sep: str = " | ") -> pd.Series:
    """Text of a list column for the edges that write text (HTML, CSV, findings text).

    Parameters
    ----------
    values : pandas.Series
        A :data:`STRING_LIST` column (or a list of any Arrow type, or already text).
    sep : str, default ``" | "``
        Separator between the items.

    Returns
    -------
    pandas.Series
        ``string`` dtype, same index; missing where the list is missing or empty.
    """
    if not is_list_dtype(values.dtype):
        return values.astype(STRING)
    arr = pa.array(values)
    arr = pc.cast(arr, pa.list_(pa.string()))
    joined = pc.binary_join(arr, sep)
    empty = pc.equal(pc.list_value_length(arr), 0)
    joined = pc.if_else(empty, pa.scalar(None, pa.string()), joined)
    text = joined.to_pandas(types_mapper={pa.string(): STRING}.get).array
    return pd.Series(text, index=values.index, dtype=STRING)
