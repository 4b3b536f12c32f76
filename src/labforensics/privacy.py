"""The one keyed-id module: every pseudonym, every redaction.

Keyed ids
---------
Every identifier that must not leave the evidence in clear becomes a *keyed id*:
a prefix letter naming its namespace and the first 16 hex digits (64 bits) of
``HMAC-SHA256(case_key, message)``, the message naming the namespace too:

======  ============================  =================================================
prefix  namespace                     message (fields joined by U+001F)
======  ============================  =================================================
``P``   patient (lab, IPP)            ``lab ␟ IPP`` (unchanged since the first release)
``R``   request number (lab, number)  ``"request" ␟ lab ␟ number``
``N``   NIR (leak linkage)            ``"nir" ␟ NIR`` (as the caller normalised it)
``D``   row of a leaked dump          ``"dump" ␟ SHA-256 of the file (hex) ␟ line``
``U``   unplaced value (lab, value)   ``"unplaced" ␟ lab ␟ value``
======  ============================  =================================================

Two namespaces can never give the same id: the prefix letters differ, and the
messages of the ``R``, ``N``, ``D`` and ``U`` namespaces start with a label of their
own (domain separation). ``U`` names a field of a quarantined record whose field
positions cannot be trusted (:func:`redact_unplaced_record`): it may be a site, an
account, an IPP...; ``labforensics reidentify`` gives it back from the evidence. A patient is the pair (lab, IPP): an IPP is unique within a
lab only; a request number likewise. The key is the *case key*; it is never
derived from the evidence or its hashes (IPPs are short numbers: anyone holding a
deterministic, unkeyed hash could re-identify every patient by enumeration).
:class:`KeyedIds` computes them all; the HMAC is keyed once and its state copied
per message (standard library ``hmac``), once per distinct value.

Redaction
---------
Free text that leaves a reader (details, quarantined raw lines) is redacted:
every IPP and request number that the evidence itself reveals becomes its keyed
id (also glued to other characters: ``IPP0099887``), and NIRs (French social security
numbers, written with any separators: :mod:`labforensics.leak.nir`; whatever their INSEE
key, since a typo in the key still leaves a person's identifier, so another 15-digit
number of NIR shape is tagged too: :func:`labforensics._privacy_text.redact_identifiers`),
e-mail addresses and French phone
numbers become the tags ``[NIR]``, ``[EMAIL]`` and ``[PHONE]``, a name after a
patient marker (``Patient DUPONT Jean``, ``Mme de la Tour``) ``[NAME]``, a date after
a birth marker (``né le``, ``DDN``) ``[BIRTHDATE]``, and in event details
every other identifier-shaped run of 5+ digits (a word of its own, not a count such
as ``17636 records``) the ``P`` id of (lab, digits): the patterns and their limits
are in :mod:`labforensics._privacy_text`. A keyed id
already in the text is never rewritten: no digit run inside a keyed id is redacted.

Quarantined records of the LIS dialects get more rules, because a row that did
not parse may hold an IPP the evidence never revealed as one: in a record of the
header's width, the field at the profile's IPP position becomes its keyed
pseudonym (:func:`redact_record_field`); in a record of another width no field's
position can be trusted, so *every* field becomes a keyed id (``U``, or the ``P``/``R``
id of a value the evidence reveals as an IPP/request) except those proven harmless
(blank, a valid date or time, a code of the profile's tables, a lab code:
:func:`redact_unplaced_record`); and every remaining run of 5 or more digits
becomes a keyed pseudonym of (lab, digits) (:func:`redact_digit_runs`). These
rules are conservative: they may also hide accounts, request numbers or byte
counts in quarantined text (the raw bytes stay in the evidence, whose SHA-256 is
in the manifest, and the quarantine row gives the file and line).

References
----------
RFC 2104 (HMAC); ENISA, *Pseudonymisation techniques and best practices* (2019),
section 5.2 (keyed hash functions); INSEE, *NIR* key: 97 - (first 13 digits mod 97),
with Corsica ``2A``/``2B`` read as 19/18 (:mod:`labforensics.leak.nir`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import secrets
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ._keyfile import read_key_file
from ._privacy_text import (
    _EMAIL,  # noqa: F401 - re-exported: tests and readers match on these patterns
    _ID,
    _NIR,  # noqa: F401
    _PHONE,  # noqa: F401
    _PREFIXES,
    nir_key_is_valid,  # noqa: F401
    redact_identifiers,
    replace_known,
)
from .errors import CaseKeyError, ParameterError

__all__ = [
    "ENV_VAR",
    "KEYED_ID",
    "CaseKey",
    "KeyedIds",
    "Redactor",
    "account_email_id",
    "dump_row_id",
    "load_case_key",
    "nir_hash",
    "pseudonymise",
    "pseudonymise_nirs",
    "pseudonymise_one",
    "pseudonymise_requests",
    "redact_digit_runs",
    "redact_identifiers",
    "redact_record_field",
    "redact_unplaced_record",
    "record_field_spans",
    "request_id",
    "time_value",
    "unplaced_id",
    "unplaced_values",
]

#: Environment variable that may hold the case key (hex, at least 16 bytes).
ENV_VAR = "LABFORENSICS_CASE_KEY"
_MIN_KEY_BYTES = 16
_SEP = "\x1f"  # unit separator: joins the fields of a keyed id's message
#: A keyed id as written in any output: prefix letter and 16 lower-case hex digits.
KEYED_ID = re.compile(r"(?<![0-9A-Za-z])[PRNDU][0-9a-f]{16}(?![0-9A-Za-z])")


@dataclass(frozen=True)
class CaseKey:
    """The secret key of a case, used to pseudonymise patients.

    Attributes
    ----------
    secret : bytes
        The key itself (at least 16 bytes). Never written to any output.
    origin : str
        Where it came from: ``"argument"``, ``"env"``, ``"file:<path>"`` or ``"random"``.
    """

    secret: bytes = field(repr=False)
    origin: str = "argument"

    def __post_init__(self) -> None:
        if not isinstance(self.secret, bytes) or len(self.secret) < _MIN_KEY_BYTES:
            raise CaseKeyError(f"a case key needs at least {_MIN_KEY_BYTES} bytes of secret")

    @property
    def fingerprint(self) -> str:
        """A public fingerprint of the key (16 hex digits), safe to record in a manifest."""
        return hashlib.sha256(b"labforensics-case-key-fingerprint\x00" + self.secret).hexdigest()[
            :16
        ]

    @classmethod
    def random(cls) -> CaseKey:
        """A fresh random 32-byte key (``secrets.token_bytes``)."""
        return cls(secrets.token_bytes(32), origin="random")

    @classmethod
    def from_hex(cls, text: str, origin: str = "argument") -> CaseKey:
        """Parse a hex-encoded key.

        Raises
        ------
        CaseKeyError
            When ``text`` is not hex or is shorter than 32 hex digits.
        """
        try:
            secret = bytes.fromhex(text.strip())
        except ValueError as exc:
            raise CaseKeyError(f"case key from {origin} is not hexadecimal") from exc
        return cls(secret, origin=origin)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> CaseKey:
        """Read a key file: one line of hex digits (as written by :meth:`write`).

        Raises
        ------
        CaseKeyError
            Naming the cause (:func:`labforensics._keyfile.key_file_problem`): the file
            is missing, not a regular file, unreadable, empty, or holds no hex key.
        """
        p = Path(path)
        return cls.from_hex(read_key_file(p), origin=f"file:{p}")

    def write(self, path: str | os.PathLike[str]) -> Path:
        """Write the key as hex to ``path`` with permissions 0600; return the path."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(self.secret.hex() + "\n")
        return p


def load_case_key(
    case_key: CaseKey | bytes | str | os.PathLike[str] | None = None, *, warn: bool = True
) -> CaseKey:
    """Resolve the case key from an argument, the environment, or a random key.

    Parameters
    ----------
    case_key : CaseKey, bytes, str, path or None
        A :class:`CaseKey`; raw bytes; a hex string; or the path of a key file.
        When None, ``$LABFORENSICS_CASE_KEY`` (hex) is used; failing that a random
        key, with a :class:`UserWarning` saying pseudonyms will not match another run.

    Returns
    -------
    CaseKey

    Raises
    ------
    CaseKeyError
        When the given key is malformed or its file unreadable.
    """
    if isinstance(case_key, CaseKey):
        return case_key
    if isinstance(case_key, bytes):
        return CaseKey(case_key)
    if isinstance(case_key, os.PathLike) or (
        isinstance(case_key, str) and (os.sep in case_key or Path(case_key).is_file())
    ):
        return CaseKey.from_file(case_key)
    if isinstance(case_key, str):
        return CaseKey.from_hex(case_key)
    env = os.environ.get(ENV_VAR)
    if env:
        return CaseKey.from_hex(env, origin="env")
    if warn:
        warnings.warn(
            "no case key given (argument, $LABFORENSICS_CASE_KEY or key file): using a random "
            "key, so patient pseudonyms will not match those of another run",
            UserWarning,
            stacklevel=2,
        )
    return CaseKey.random()


# --- keyed ids -------------------------------------------------------------------------

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


class KeyedIds:
    """Every keyed id of one case key: the HMAC keyed once, its state copied per message.

    Parameters
    ----------
    key : CaseKey
        The case key.

    Notes
    -----
    HMAC-SHA256 exactly as RFC 2104 defines it, ``H(K ^ opad, H(K ^ ipad, m))``,
    with the two keyed SHA-256 states (``hashlib``, standard library) built once and
    copied per message: 0.77 microseconds a message here, against 1.19 for a
    ``copy()`` of ``hmac.new(key, digestmod="sha256")`` and 1.56 for
    ``hmac.digest`` (measured on 300,000 request messages; ingest hashes one message
    per distinct (lab, IPP) and (lab, request), up to millions a run). The output
    is pinned against ``hmac.new(key, msg, sha256)`` by a known-answer test
    (``tests/test_keyed_ids.py``). The hex text of the ids is built from the
    digests by NumPy in one pass. Every method takes sequences of ``str`` with no
    missing value and returns a :class:`pyarrow.StringArray` of the same length
    (``.to_pylist()`` for a list).
    """

    _BLOCK = 64  # SHA-256 block size in bytes (RFC 2104: B)

    def __init__(self, key: CaseKey) -> None:
        k = key.secret
        if len(k) > self._BLOCK:  # RFC 2104: a key longer than B is hashed first
            k = hashlib.sha256(k).digest()
        k = k.ljust(self._BLOCK, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in k))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in k))

    def digest_hex(self, message: bytes) -> str:
        """HMAC-SHA256 of one message, in lower-case hex (64 digits)."""
        i = self._inner.copy()
        i.update(message)
        o = self._outer.copy()
        o.update(i.digest())
        return o.hexdigest()

    def _ids(self, prefix: str, messages: Iterable[bytes]) -> pa.Array:
        inner_copy, outer_copy = self._inner.copy, self._outer.copy
        digests: list[bytes] = []
        append = digests.append
        for m in messages:
            i = inner_copy()
            i.update(m)
            o = outer_copy()
            o.update(i.digest())
            append(o.digest())
        n = len(digests)
        raw = np.frombuffer(b"".join(digests), dtype=np.uint8).reshape(n, 32)[:, :8]
        text = np.empty((n, 17), dtype=np.uint8)
        text[:, 0] = ord(prefix)
        text[:, 1::2] = _HEX[raw >> 4]
        text[:, 2::2] = _HEX[raw & 15]
        offsets = np.arange(0, 17 * (n + 1), 17, dtype=np.int64)
        if offsets[-1] < 2**31:
            return pa.StringArray.from_buffers(
                n, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(text)
            )
        return pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(text))

    @staticmethod
    def _messages(*parts: str | Sequence[str]) -> list[bytes]:
        """UTF-8 messages: the parts joined by U+001F (a ``str`` part is the same in all)."""
        if all(isinstance(p, str) for p in parts):
            return [_SEP.join(parts).encode()]  # type: ignore[arg-type]
        arrays = [
            pa.scalar(p, pa.string()) if isinstance(p, str) else pa.array(p, type=pa.string())
            for p in parts
        ]
        joined = pc.binary_join_element_wise(*arrays, _SEP)
        if joined.null_count:
            raise ParameterError("a keyed id's message has a missing part (a lab or a value)")
        return joined.cast(pa.binary()).to_pylist()

    def patients(self, labs: Sequence[str], ipps: Sequence[str]) -> pa.Array:
        """``P`` ids of (lab, IPP) pairs: HMAC(key, lab ␟ IPP), the IPP as given."""
        return self._ids("P", self._messages(labs, ipps))

    def requests(self, labs: Sequence[str], requests: Sequence[str]) -> pa.Array:
        """``R`` ids of (lab, request number) pairs: HMAC(key, "request" ␟ lab ␟ number)."""
        return self._ids("R", self._messages("request", labs, requests))

    def nirs(self, nirs: Sequence[str]) -> pa.Array:
        """``N`` ids of NIRs, as given (normalise them first): HMAC(key, "nir" ␟ NIR)."""
        return self._ids("N", self._messages("nir", nirs))

    def dump_rows(self, file_sha256: str, lines: Sequence[int]) -> pa.Array:
        """``D`` ids of rows of one dump file: HMAC(key, "dump" ␟ SHA-256 hex ␟ line).

        ``file_sha256`` is the file's SHA-256 in lower-case hex; ``lines`` the rows'
        1-based physical line numbers (written in decimal in the message).
        """
        return self._ids("D", self._messages("dump", file_sha256.lower(), [str(i) for i in lines]))

    def unplaced(self, labs: Sequence[str], values: Sequence[str]) -> pa.Array:
        """``U`` ids of (lab, value) pairs: HMAC(key, "unplaced" ␟ lab ␟ value)."""
        return self._ids("U", self._messages("unplaced", labs, values))


def pseudonymise_one(key: CaseKey, lab: str, ipp: str) -> str:
    """Pseudonym of one patient (lab, IPP): ``P`` + 16 hex digits of HMAC(key, lab ␟ IPP)."""
    return KeyedIds(key).patients([lab], [ipp])[0].as_py()


def unplaced_id(key: CaseKey, lab: str, value: str) -> str:
    """``U`` id of one value of a quarantined record whose field positions are unknown."""
    return KeyedIds(key).unplaced([lab], [value])[0].as_py()


def request_id(key: CaseKey, lab: str, request: str) -> str:
    """Keyed id of one request number: ``R`` + 16 hex of HMAC(key, "request" ␟ lab ␟ number)."""
    return KeyedIds(key).requests([lab], [request])[0].as_py()


def nir_hash(key: CaseKey, nir: str) -> str:
    """Keyed id of one NIR, as given: ``N`` + 16 hex digits of HMAC(key, "nir" ␟ NIR).

    The caller normalises the NIR first (:func:`labforensics.leak.nir.normalise_nir`),
    so that every written form of one number gives one id.
    """
    return KeyedIds(key).nirs([nir])[0].as_py()


def dump_row_id(key: CaseKey, file_sha256: str, line: int) -> str:
    """Keyed id of one row of a leaked dump: ``D`` + 16 hex digits.

    Of HMAC(key, "dump" ␟ SHA-256 of the file (lower-case hex) ␟ line), ``line`` the
    1-based physical line number: a row is named without its content, and
    :func:`labforensics.reidentify.reidentify` maps it back given the dump file.
    """
    return KeyedIds(key).dump_rows(file_sha256, [line])[0].as_py()


def account_email_id(key: CaseKey, address: str) -> str:
    """Keyed id of an e-mail address used as an account name (xferlog users).

    ``EMAIL-`` + the first 12 hex digits of HMAC(key, "xferlog-user" ␟ address):
    the account stays countable without showing the address.
    """
    return "EMAIL-" + KeyedIds(key).digest_hex(f"xferlog-user{_SEP}{address}".encode())[:12]


def normalise_ipp(ipp: pd.Series) -> pd.Series:
    """Strip surrounding white space; empty becomes missing. Returns a ``string`` Series."""
    s = ipp.astype("string").str.strip()
    return s.mask(s == "")


def _pseudonymise_pairs(ids: KeyedIds, prefix: str, lab: pd.Series, value: pd.Series) -> pd.Series:
    """Keyed ids of a column within its lab, once per distinct pair; ``<NA>`` where missing."""
    value = normalise_ipp(value)
    present = value.notna().to_numpy()
    out = np.full(len(value), None, dtype=object)
    if present.any():
        pairs = lab[present].astype(str).str.cat(value[present].astype(str), sep=_SEP)
        codes, uniques = pd.factorize(pairs, sort=False)
        label = "" if prefix == "P" else "request" + _SEP
        made = ids._ids(prefix, [(label + u).encode() for u in uniques])
        out[present] = np.asarray(made.to_pylist(), dtype=object)[codes]
    return pd.Series(out, index=value.index, dtype="string[pyarrow]")


def pseudonymise(key: CaseKey, lab: pd.Series, ipp: pd.Series) -> pd.Series:
    """Pseudonymise a column of IPPs, each within its lab (``P`` ids).

    The HMAC is computed once per distinct (lab, IPP) pair, so the cost grows
    with the number of patients, not of events.

    Parameters
    ----------
    key : CaseKey
    lab : pandas.Series of str, length n
        Lab code of each row (never missing where ``ipp`` is present).
    ipp : pandas.Series of str, length n
        Raw IPP, or missing; surrounding white space is not part of it.

    Returns
    -------
    pandas.Series
        ``string`` dtype, length n, the pseudonym or ``<NA>`` where ``ipp`` is missing
        or blank.
    """
    return _pseudonymise_pairs(KeyedIds(key), "P", lab, ipp)


def pseudonymise_requests(key: CaseKey, lab: pd.Series, request: pd.Series) -> pd.Series:
    """Keyed ids (``R``) of a column of request numbers, each within its lab.

    Parameters
    ----------
    key : CaseKey
    lab : pandas.Series of str, length n
        Lab code of each row (never missing where ``request`` is present).
    request : pandas.Series of str, length n
        Raw request number, or missing; surrounding white space is not part of it.

    Returns
    -------
    pandas.Series
        ``string`` dtype, length n: ``R`` + 16 hex digits, or ``<NA>`` where the
        request number is missing or blank. Computed once per distinct pair.
    """
    return _pseudonymise_pairs(KeyedIds(key), "R", lab, request)


def pseudonymise_nirs(key: CaseKey, nir: pd.Series) -> pd.Series:
    """Keyed ids (``N``) of a column of NIRs, for the leak linkage.

    Parameters
    ----------
    key : CaseKey
    nir : pandas.Series of str, length n
        NIRs as the caller normalised them (:func:`labforensics.leak.nir.normalise_nir`,
        or the 13 characters before the key), or missing.

    Returns
    -------
    pandas.Series
        ``string`` dtype, length n: ``N`` + 16 hex digits of HMAC(key, "nir" ␟ NIR), or
        ``<NA>`` where the NIR is missing or blank. Computed once per distinct value.
    """
    value = normalise_ipp(nir)
    present = value.notna().to_numpy()
    out = np.full(len(value), None, dtype=object)
    if present.any():
        codes, uniques = pd.factorize(value[present].astype(str), sort=False)
        made = KeyedIds(key).nirs(list(uniques))
        out[present] = np.asarray(made.to_pylist(), dtype=object)[codes]
    return pd.Series(out, index=value.index, dtype="string[pyarrow]")


# --- free-text redaction: the patterns are in labforensics._privacy_text -----------------


class Redactor:
    """Redacts free text: known IPPs and request numbers become keyed ids; NIR, e-mail, phone tags.

    Parameters
    ----------
    key : CaseKey
        The case key.
    known_ipps : mapping of str to iterable of str
        Lab code -> the raw IPPs that the evidence reveals for that lab. An IPP found
        in a text of that lab as a token, a run of letters, digits and hyphens, or a
        whole run of digits (glued to letters or punctuation: ``IPP0099887``,
        ``0099887-01``; :func:`labforensics._privacy_text.replace_known`) is replaced
        by its ``P`` pseudonym; in text of no known lab, by the pseudonym of the first
        lab (sorted) that knows it, with all labs tried.
    known_requests : mapping of str to iterable of str, optional
        Lab code -> the raw request numbers the evidence reveals: replaced by their
        ``R`` ids in the same way. A token that is both an IPP and a request number
        of a lab becomes the patient's pseudonym.

    Notes
    -----
    Short values (fewer than 3 characters) are not substituted: they would match
    ordinary numbers in text. The ids of all known values are computed once, here.
    """

    def __init__(
        self,
        key: CaseKey,
        known_ipps: Mapping[str, Iterable[str]],
        known_requests: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        self.key = key
        ids = KeyedIds(key)
        self._by_lab: dict[str, dict[str, str]] = {}
        self._any: dict[str, str] = {}
        known_requests = known_requests or {}
        for lab in sorted(set(known_ipps) | set(known_requests)):
            table: dict[str, str] = {}
            for values, make in (
                (known_ipps.get(lab, ()), ids.patients),
                (known_requests.get(lab, ()), ids.requests),
            ):
                vals = sorted({str(v).strip() for v in values} - set(table))
                vals = [v for v in vals if len(v) >= 3]
                if vals:
                    table.update(zip(vals, make([lab] * len(vals), vals).to_pylist(), strict=True))
            self._by_lab[lab] = table
            for value, pseudo in table.items():
                self._any.setdefault(value, pseudo)

    def redact(self, text: str | None, lab: str | None = None) -> str | None:
        """Redact one text (``None`` passes through)."""
        if text is None or text is pd.NA or text == "":
            return text
        table = self._by_lab.get(lab, self._any) if lab is not None else self._any
        if table:
            text = replace_known(text, table)
        return redact_identifiers(text)

    def redact_series(self, text: pd.Series, lab: pd.Series | None = None) -> pd.Series:
        """Redact a ``string`` Series; work is done once per distinct (lab, text)."""
        s = text.astype("string[pyarrow]")
        present = s.notna() & (s != "")
        if not present.any():
            return s
        sub = s[present]
        labs = lab[present].astype(str) if lab is not None else pd.Series("", index=sub.index)
        keyed = labs.str.cat(sub.astype(str), sep=_SEP)
        codes, uniques = pd.factorize(keyed, sort=False)
        red = []
        for u in uniques:
            lb, _, tx = u.partition(_SEP)
            red.append(self.redact(tx, lb or None))
        out = s.copy()
        out[present] = np.asarray(red, dtype=object)[codes]
        return out.astype("string[pyarrow]")


# --- quarantined records: identifiers in rows that did not parse ------------------------

# A run of 5 or more digits, not the fraction of a time (``09:00:00.123456``).
# A keyed id already written (first alternative) is kept as it is.
_PSEUDONYM = re.compile(r"[PRNDU][0-9a-f]{16}")
#: Fields a record may lack and still be read as fields merged by missing separators.
_MAX_MERGED = 2
_DIGIT_RUN = re.compile(rf"{_ID}|(?<!\d)(?<!:\d\d[.,])\d{{5,}}(?!\d)")


def record_field_spans(text: str, separator: str, quote: str) -> list[tuple[int, int]]:
    """(start, end) of each field's text in one CSV record, quotes included.

    The CSV rules of the LIS reader (a quote opens a quoted field only at a field's
    start; ``""`` inside it is one quote; elsewhere a quote is a literal character).
    One pass over the text (linear); an open quote runs to the end of the text.
    """
    spans: list[tuple[int, int]] = []
    start = 0
    i = 0
    n = len(text)
    while True:
        if i < n and text[i] == quote:  # quoted field: to the closing quote
            j = i + 1
            while True:
                k = text.find(quote, j)
                if k < 0:
                    j = n
                    break
                if k + 1 < n and text[k + 1] == quote:
                    j = k + 2
                    continue
                j = k + 1
                break
            k = text.find(separator, j)
        else:
            k = text.find(separator, i)
        if k < 0:
            spans.append((start, n))
            return spans
        spans.append((start, k))
        start = i = k + 1


def redact_record_field(
    text: str,
    key: CaseKey,
    lab: str | None,
    *,
    separator: str,
    quote: str,
    ipp_index: int,
    lab_index: int | None = None,
    width: int | None = None,
    kind: str = "patient",
) -> str:
    """Replace the IPP field of one raw CSV record by its keyed pseudonym.

    For quarantined records (wrong width, cut short, bad date...): the record is
    split into fields (:func:`record_field_spans`) and the field at ``ipp_index``
    (the profile's IPP column position), when present and not blank, becomes
    ``pseudonymise_one(key, lab, ipp)``. The lab is the record's lab field
    (``lab_index``) when it is there and not blank, else ``lab`` (the file's lab or
    the investigator's), else ``""``. Other text is unchanged.

    With ``width`` (the number of fields a well-formed record has), a record of
    another width has its fields shifted by an unknown amount: an extra separator
    before the IPP pushes it right, a missing one pulls it left. Every field that
    could hold the IPP (positions ``ipp_index`` to ``ipp_index + d``, ``d`` the
    difference in width, either sign) is then pseudonymised, since which one is the
    IPP cannot be told. A record with more than two fields missing is read as cut
    short (or a line of junk), whose fields are where they belong: only the field
    at ``ipp_index`` is then taken (runs of digits are caught by
    :func:`redact_digit_runs`).

    With ``kind="request"``, ``ipp_index`` is the position of the request-number
    field, which becomes its ``R`` id (:func:`request_id`) by the same rules. A field
    already holding a keyed id is left as it is.
    """
    make = request_id if kind == "request" else pseudonymise_one
    spans = record_field_spans(text, separator, quote)
    d = len(spans) - width if width is not None else 0
    if d < -_MAX_MERGED:  # far too few fields: a record cut short or junk, not merged fields
        d = 0
    lo, hi = min(ipp_index, ipp_index + d), max(ipp_index, ipp_index + d)
    targets = [i for i in range(max(lo, 0), hi + 1) if i < len(spans)]
    if not targets:
        return text
    rec_lab = None
    if lab_index is not None and lab_index < len(spans) and d == 0:
        la, lb = spans[lab_index]
        rec_lab = text[la:lb].strip().strip(quote).strip() or None
    use = rec_lab or lab or ""
    for i in reversed(targets):  # right to left: earlier spans stay valid
        a, b = spans[i]
        val = text[a:b]
        if len(val) >= 2 and val[0] == quote and val[-1] == quote:
            val = val[1:-1].replace(quote * 2, quote)
        val = val.strip()
        if val and not _PSEUDONYM.fullmatch(val):
            text = text[:a] + make(key, use, val) + text[b:]
    return text


def redact_digit_runs(text: str, key: CaseKey, lab: str | None) -> str:
    """Replace every run of 5 or more digits by the keyed pseudonym of (lab, digits).

    A conservative rule for quarantined text only (and field-problem values of the
    LIS dialects): a row that did not parse may hold an IPP anywhere, even cut in
    the middle, where no column tells it apart. Any run of 5+ digits goes, which
    also hides request numbers and byte counts; the timestamps and dates of the
    LIS dialects never hold such a run (the fraction after ``HH:MM:SS.`` is kept).
    Nothing is lost to the investigator: the raw bytes stay in the evidence, whose
    SHA-256 is in the manifest. Linear in the text's length.
    """
    if not text:
        return text
    use = lab or ""

    def sub(m: re.Match[str]) -> str:
        g = m.group(0)
        return g if g[0] in _PREFIXES else pseudonymise_one(key, use, g)

    return _DIGIT_RUN.sub(sub, text)


# --- quarantined records whose fields are out of place -----------------------------------

# A date, a time, or a date and a time (see time_value): never digits alone.
_D = (
    r"(?:(?P<d>\d{2})(?P<s1>[/.-])(?P<m>\d{2})(?P=s1)(?P<y>\d{4})"
    r"|(?P<Y>\d{4})(?P<s2>[/.-])(?P<M>\d{2})(?P=s2)(?P<D>\d{2}))"
)
_T = r"(?P<H>\d{2}):(?P<N>\d{2})(?::(?P<S>\d{2})(?:[.,]\d{1,9})?)?"
_WHEN = (re.compile(rf"{_D}(?:[T ]{_T}(?:Z|[+-]\d{{2}}(?::?\d{{2}})?)?)?"), re.compile(_T))


def time_value(value: str) -> bool:
    """True when ``value`` is a valid date, time of day, or date and time.

    ``dd/mm/yyyy`` or ``yyyy-mm-dd`` (``/``, ``-`` or ``.`` between), ``HH:MM[:SS[.f]]``,
    or a date, ``T`` or a space, a time, then ``Z`` or an offset; the date must exist
    (not ``31/02/2020``), the time be on a clock (not ``24:00``). Digits alone
    (``20190301``) are never a date: they could be an identifier.
    """
    m = _WHEN[0].fullmatch(value) or _WHEN[1].fullmatch(value)
    if m is None:
        return False
    g = {"d": None, "Y": None, "H": None, **m.groupdict()}
    if g["d"] or g["Y"]:
        y, mo, d = (g["y"], g["m"], g["d"]) if g["d"] else (g["Y"], g["M"], g["D"])
        try:
            dt.date(int(y), int(mo), int(d))
        except ValueError:
            return False
    return g["H"] is None or (int(g["H"]) < 24 and int(g["N"]) < 60 and int(g["S"] or 0) < 61)


def unplaced_values(text: str, separator: str | None, quote: str) -> list[tuple[int, int, str]]:
    """(start, end, value) of each field of a record whose field positions are unknown.

    Fields split by :func:`record_field_spans` (with ``separator`` None, every run of
    non-blank characters); the value is the field's text, quotes (``""`` read as one)
    and surrounding blanks removed. Shared by :func:`redact_unplaced_record` and
    ``labforensics reidentify`` (which gives ``U`` ids back). Linear in the text.
    """
    if separator is None:
        spans = [m.span() for m in re.finditer(r"\S+", text)]
    else:
        spans = record_field_spans(text, separator, quote)
    out = []
    for a, b in spans:
        val = text[a:b]
        if len(val) >= 2 and val[0] == quote and val[-1] == quote:
            val = val[1:-1].replace(quote * 2, quote)
        out.append((a, b, val.strip()))
    return out


def redact_unplaced_record(
    text: str,
    key: CaseKey,
    lab: str | None,
    *,
    separator: str | None,
    quote: str,
    keep: Callable[[str], bool],
    known: Callable[[str], str | None] | None = None,
) -> str:
    """Replace every field of a record whose positions cannot be trusted by its keyed id.

    A record of another width than its header's (fields missing, extra separators) or
    a line its profile's pattern does not match may hold a patient identifier in any
    field, and a harmless value where the IPP column is. Every field
    (:func:`unplaced_values`) whose value is neither blank, nor a keyed id already,
    nor kept by ``keep`` (the caller's proof of harmlessness: a date or time,
    :func:`time_value`; a code of the profile's tables; a lab code) becomes the id
    ``known`` gives it (a value the evidence reveals as an IPP or a request number:
    its ``P`` or ``R`` id), else its ``U`` id, :func:`unplaced_id` of (``lab``, value):
    not a patient's ``P`` id, since what the value is cannot be told (a site, an
    account, an IPP...); ``labforensics reidentify`` gives it back from the evidence.
    Separators and kept fields stay as written, so the record's shape (its field
    count) shows. Linear in the text.
    """
    use, ids = lab or "", KeyedIds(key)
    out: list[str] = []
    prev = 0
    for a, b, val in unplaced_values(text, separator, quote):
        out.append(text[prev:a])
        if not val or _PSEUDONYM.fullmatch(val) or keep(val):
            out.append(text[a:b])
        elif known is not None and (got := known(val)) is not None:
            out.append(got)
        else:
            msg = "unplaced" + _SEP + use + _SEP + val  # as KeyedIds.unplaced
            out.append("U" + ids.digest_hex(msg.encode())[:16])
        prev = b
    out.append(text[prev:])
    return "".join(out)
