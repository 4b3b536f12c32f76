"""The canonical person frame of the leak linkage, and the normalisation of its values.

:data:`PEOPLE_COLUMNS` is the contract between the readers
(:func:`labforensics.leak.patients.read_patient_index`,
:func:`labforensics.leak.dump.read_dump`) and the linkage (:mod:`labforensics.leak.people`).
Every normaliser here works on a whole column: the column is factorised, the
distinct values are normalised (pyarrow string kernels; ``ftfy`` and
``phonenumbers`` only on distinct values that need them) and the result taken
back by code, so the cost follows the number of distinct values, not of rows.

The frames hold raw-but-normalised personal data in memory only: nothing here
writes, logs or raises with a value.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import ftfy
import numpy as np
import pandas as pd
import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "DATE_FIELDS",
    "PEOPLE_COLUMNS",
    "TEXT_FIELDS",
    "DateParts",
    "address_form",
    "city_form",
    "empty_people",
    "first_word",
    "name_form",
    "parse_dates",
    "phone_form",
    "postcode_form",
    "qualite_form",
    "rang_form",
    "repair_mojibake",
    "sex_form",
]

_UTC_NS = "datetime64[ns, UTC]"

#: Column -> dtype of the person frame (:mod:`labforensics.leak.people`), in order.
PEOPLE_COLUMNS: dict[str, str] = {
    "record_id": "string",
    "lab": "string",
    "source_file": "string",
    "source_line": "int64",
    "surname": "string",
    "birth_name": "string",
    "first_name": "string",
    "first_name_first": "string",
    "sex": "string",
    "birth_date": "string",
    "birth_year": "Int16",
    "birth_month": "Int16",
    "birth_day": "Int16",
    "nir": "string",
    "nir_raw_invalid": "bool",
    "qualite": "string",
    "rang": "Int8",
    "address": "string",
    "postcode": "string",
    "city": "string",
    "phone": "string",
    "created": _UTC_NS,
    "last_visit": _UTC_NS,
    "sample_date": _UTC_NS,
    "duplicate_of": "string",
}

#: Fields holding dates (``birth_date`` a calendar date, the others start of a local day).
DATE_FIELDS = ("birth_date", "created", "last_visit", "sample_date")
#: Free-text fields that ``ftfy`` may repair (mojibake).
TEXT_FIELDS = ("surname", "birth_name", "first_name", "address", "city")


def empty_people() -> pd.DataFrame:
    """A person frame with no row and the dtypes of :data:`PEOPLE_COLUMNS`."""
    return pd.DataFrame({c: pd.Series([], dtype=t) for c, t in PEOPLE_COLUMNS.items()})


def _per_distinct(s: pd.Series, fn: Callable[[pa.Array], pa.Array], dtype: str) -> pd.Series:
    """``fn`` applied to the distinct non-missing values of ``s``, taken back per row."""
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    if len(uniques) == 0:
        return pd.Series(pd.array([pd.NA] * len(s), dtype=dtype), index=s.index)
    done = fn(pa.array(np.asarray(uniques, dtype=object), type=pa.string()))
    taken = pc.take(done, pa.array(np.where(codes < 0, 0, codes)))
    taken = pc.if_else(pa.array(codes < 0), pa.scalar(None, taken.type), taken)
    return pd.Series(taken.to_pandas(types_mapper=pd.ArrowDtype), index=s.index).astype(dtype)


def _null_empty(a: pa.Array) -> pa.Array:
    return pc.if_else(pc.equal(a, ""), pa.scalar(None, pa.string()), a)


# --- mojibake -----------------------------------------------------------------------------

#: Characters that UTF-8 read as cp1252/latin-1 leaves behind (``Ã©`` for ``é``, ``â€™``).
_MOJIBAKE_HINT = re.compile(
    "[ÃÂâÅÐÑ][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013-\u203a\u20ac\u2122]"
)


def repair_mojibake(s: pd.Series) -> tuple[pd.Series, int]:
    """Mojibake repaired by ``ftfy.fix_encoding`` where it is unambiguous; rows repaired.

    Parameters
    ----------
    s : pandas.Series of string
        Raw cells (missing allowed).

    Returns
    -------
    repaired : pandas.Series of string, same index
    n : int
        Rows whose value changed.

    Notes
    -----
    Only distinct values holding a typical mis-decoding pair (``Ã©``, ``â€™``...) are
    passed to ``ftfy.fix_encoding``, which changes a text only when its badness
    heuristic finds the repaired form clearly better (``HÃ©lÃ¨ne`` -> ``Hélène``;
    a genuine ``Ã`` followed by a letter is left alone).
    """
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    if len(uniques) == 0:
        return s.astype("string"), 0
    u = np.asarray(uniques, dtype=object)
    fixed = u.copy()
    changed = np.zeros(len(u), dtype=bool)
    for i, v in enumerate(u):  # per distinct value, and only the suspicious ones
        if _MOJIBAKE_HINT.search(v):
            f = ftfy.fix_encoding(v)
            if f != v:
                fixed[i], changed[i] = f, True
    if not changed.any():
        return s.astype("string"), 0
    out = pd.Series(fixed[np.where(codes < 0, 0, codes)], index=s.index, dtype="string")
    out[codes < 0] = pd.NA
    return out, int(changed[codes[codes >= 0]].sum())


# --- names, addresses ------------------------------------------------------------------------

_LETTERS = {"ß": "SS", "Œ": "OE", "Æ": "AE", "Ø": "O", "Ł": "L", "Đ": "D", "Þ": "TH"}


def _upper_ascii(a: pa.Array) -> pa.Array:
    """NFKD, combining marks dropped, upper case, ligatures spelled, other signs -> space."""
    a = pc.utf8_normalize(a, form="NFKD")
    a = pc.replace_substring_regex(a, pattern=r"\p{Mn}+", replacement="")
    a = pc.utf8_upper(a)
    for k, v in _LETTERS.items():
        a = pc.replace_substring(a, pattern=k, replacement=v)
    a = pc.replace_substring_regex(a, pattern=r"[^A-Z0-9]+", replacement=" ")
    return _null_empty(pc.utf8_trim_whitespace(a))


def name_form(s: pd.Series) -> pd.Series:
    """Comparison form of a name: upper case, no accents, hyphens and apostrophes -> space.

    ``"Jean-Pierre"`` -> ``JEAN PIERRE``, ``"de la Fontaine"`` -> ``DE LA FONTAINE``
    (particles kept as words), ``"D'Artagnan"`` -> ``D ARTAGNAN``, ``"Œuvray"`` ->
    ``OEUVRAY``; missing or nothing left -> NA. ``s``: strings (mojibake repaired
    first, :func:`repair_mojibake`); returns ``string`` dtype.
    """
    return _per_distinct(s, _upper_ascii, "string")


def first_word(s: pd.Series) -> pd.Series:
    """The first word of a name in comparison form (``JEAN PIERRE`` -> ``JEAN``)."""
    return _per_distinct(
        s, lambda a: pc.replace_substring_regex(a, pattern=" .*$", replacement=""), "string"
    )


#: Street-type abbreviations spelled out (whole words only), La Poste usage.
ADDRESS_WORDS = {
    "BD": "BOULEVARD",
    "BLD": "BOULEVARD",
    "BVD": "BOULEVARD",
    "AV": "AVENUE",
    "AVE": "AVENUE",
    "R": "RUE",
    "CH": "CHEMIN",
    "CHE": "CHEMIN",
    "CHEM": "CHEMIN",
    "PL": "PLACE",
    "IMP": "IMPASSE",
    "ALL": "ALLEE",
    "RTE": "ROUTE",
    "FBG": "FAUBOURG",
    "FG": "FAUBOURG",
    "QU": "QUAI",
    "CRS": "COURS",
    "SQ": "SQUARE",
    "RES": "RESIDENCE",
    "LOT": "LOTISSEMENT",
    "ST": "SAINT",
    "STE": "SAINTE",
}
_CITY_WORDS = {"ST": "SAINT", "STE": "SAINTE"}


def _spell(words: dict[str, str]) -> Callable[[pa.Array], pa.Array]:
    def fn(a: pa.Array) -> pa.Array:
        a = _upper_ascii(a)
        for k, v in words.items():
            a = pc.replace_substring_regex(a, pattern=rf"\b{k}\b", replacement=v)
        return a

    return fn


def address_form(s: pd.Series) -> pd.Series:
    """Comparison form of a street address: :func:`name_form` then abbreviations spelled
    out where a whole word (:data:`ADDRESS_WORDS`: ``BD`` -> ``BOULEVARD``, ``AV`` ->
    ``AVENUE``, ``R`` -> ``RUE``...)."""
    return _per_distinct(s, _spell(ADDRESS_WORDS), "string")


def city_form(s: pd.Series) -> pd.Series:
    """Comparison form of a city: :func:`name_form`, ``ST``/``STE`` -> ``SAINT``/``SAINTE``."""
    return _per_distinct(s, _spell(_CITY_WORDS), "string")


def postcode_form(s: pd.Series) -> pd.Series:
    """Five-digit postcode, or NA. Spaces dropped; four digits get back the leading zero a
    spreadsheet removed (``1000`` -> ``01000``)."""

    def fn(a: pa.Array) -> pa.Array:
        a = pc.replace_substring_regex(a, pattern=r"\s+", replacement="")
        a = pc.if_else(
            pc.match_substring_regex(a, r"^\d{4}$"), pc.binary_join_element_wise("0", a, ""), a
        )
        return pc.if_else(pc.match_substring_regex(a, r"^\d{5}$"), a, pa.scalar(None, pa.string()))

    return _per_distinct(s, fn, "string")


_SEX_CODES = {
    "M": "M", "H": "M", "1": "M", "MASCULIN": "M", "HOMME": "M", "MALE": "M",
    "F": "F", "2": "F", "FEMININ": "F", "FEMME": "F", "FEMALE": "F",
}  # fmt: skip


def sex_form(s: pd.Series) -> pd.Series:
    """``M``, ``F`` or NA (``M``/``H``/``1``/``Masculin``/``Homme``; ``F``/``2``/``Féminin``/``Femme``)."""

    def fn(a: pa.Array) -> pa.Array:
        u = _upper_ascii(a).to_pylist()
        return pa.array([_SEX_CODES.get(v) if v else None for v in u], type=pa.string())

    return _per_distinct(s, fn, "string")


#: ``QUALITE`` codes of SESAM-Vitale known here: 00 the insured person, 01-09 dependants
#: (02 spouse, 06 child, 09 other dependant...). Others are kept and counted.
KNOWN_QUALITE = frozenset(f"{i:02d}" for i in range(10))


def qualite_form(s: pd.Series) -> pd.Series:
    """The ``QUALITE`` code as two digits (``6`` -> ``06``); other text kept trimmed."""

    def fn(a: pa.Array) -> pa.Array:
        a = pc.utf8_trim_whitespace(a)
        a = pc.if_else(
            pc.match_substring_regex(a, r"^\d$"), pc.binary_join_element_wise("0", a, ""), a
        )
        return _null_empty(a)

    return _per_distinct(s, fn, "string")


def rang_form(s: pd.Series) -> pd.Series:
    """Birth rank as ``Int8`` (1-9), NA when empty or not a small number."""
    t = s.astype("string").str.strip()
    ok = t.str.fullmatch(r"\d{1,2}").fillna(False).astype(bool)
    out = pd.Series(pd.NA, index=s.index, dtype="Int8")
    out[ok] = t[ok].astype(int).clip(upper=99).astype("Int8")
    return out


# --- phones ---------------------------------------------------------------------------------

_FR_FAST = re.compile(r"^(?:0|\+33|0033|33|\+330|00330)(?P<nat>[1-9]\d{8})$")


def _phones(a: pa.Array) -> pa.Array:
    """E.164 of distinct phone texts: French 10-digit shapes by a regex, the rest by
    ``phonenumbers`` (region FR, possible numbers only)."""
    digits = pc.replace_substring_regex(a, pattern=r"[^\d+]", replacement="")
    fast = pc.extract_regex(digits, _FR_FAST.pattern)
    nat = pc.struct_field(fast, [0])
    out = pc.binary_join_element_wise("+33", nat, "")
    todo = np.flatnonzero(pc.is_null(out).to_numpy(zero_copy_only=False))
    if len(todo):
        vals = out.to_pylist()
        texts = a.to_pylist()
        for i in todo:  # per distinct value not of a French 10-digit shape
            t = texts[i]
            try:
                num = phonenumbers.parse(t, "FR")
            except phonenumbers.NumberParseException:
                continue
            if phonenumbers.is_possible_number(num):
                vals[i] = phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)
        out = pa.array(vals, type=pa.string())
    return out


def phone_form(s: pd.Series) -> pd.Series:
    """Phone number in E.164 (``06 12 34 56 78`` -> ``+33612345678``), NA if unparsable.

    French numbers written with 10 digits (``0612345678``, ``+33 6 12...``, ``0033``,
    ``+33 (0)6...``) are rewritten by one regex over the distinct values (the same text
    ``phonenumbers`` gives for them); the others go through ``phonenumbers.parse``
    with region ``FR`` and are kept when ``is_possible_number``.
    """
    return _per_distinct(s, _phones, "string")


# --- dates ----------------------------------------------------------------------------------

_SERIAL = re.compile(r"^\d{1,6}(?:[.,]\d+)?$")

#: Date flags of :func:`parse_dates` (counted in the reports, never a value).
DATE_FLAGS = (
    "ok",
    "incomplete",
    "two_digit_year",
    "serial",
    "serial_1900_02_29",
    "invalid",
    "unreadable",
)


@dataclass
class DateParts:
    """Dates of one column split into parts (same index as the column).

    Attributes
    ----------
    year, month, day : pandas.Series of Int16
        NA where unknown (``00``) or invalid.
    complete : pandas.Series of bool
        Year, month and day known and a real calendar date.
    flags : dict of str to int
        Rows per :data:`DATE_FLAGS` value (missing cells are not counted).
    """

    year: pd.Series
    month: pd.Series
    day: pd.Series
    complete: pd.Series
    flags: dict[str, int]

    def iso(self) -> pd.Series:
        """``YYYY-MM-DD`` where complete, else NA (``string``)."""
        out = pd.Series(pd.NA, index=self.year.index, dtype="string")
        c = self.complete.to_numpy(dtype=bool)
        if c.any():
            y = self.year[c].astype(int).astype(str).str.zfill(4)
            m = self.month[c].astype(int).astype(str).str.zfill(2)
            d = self.day[c].astype(int).astype(str).str.zfill(2)
            out[c] = y + "-" + m + "-" + d
        return out

    def local_midnight_utc(self, tz: str) -> pd.Series:
        """Start of each complete date's local day in ``tz``, in UTC (``datetime64[ns, UTC]``);
        NaT elsewhere. A midnight that does not exist locally moves forward."""
        c = self.complete.to_numpy(dtype=bool)
        naive = pd.Series(pd.NaT, index=self.year.index, dtype="datetime64[ns]")
        if c.any():
            naive[c] = pd.to_datetime(
                pd.DataFrame(
                    {
                        "year": self.year[c].astype(int),
                        "month": self.month[c].astype(int),
                        "day": self.day[c].astype(int),
                    }
                )
            ).astype("datetime64[ns]")
        local = naive.dt.tz_localize(tz, ambiguous=False, nonexistent="shift_forward")
        return local.dt.tz_convert("UTC").astype(_UTC_NS)


def _ints(struct: pa.Array, name: str) -> np.ndarray:
    f = pc.struct_field(struct, name)
    return pc.fill_null(pc.cast(pc.if_else(pc.equal(f, ""), None, f), pa.int64()), -1).to_numpy(
        zero_copy_only=False
    )


def _dates_distinct(
    u: pa.Array, fmt: str | None, system: int, pivot: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Year, month, day (-1 unknown) and flag index (:data:`DATE_FLAGS`) of distinct date
    texts, over the whole array (the rules of :func:`parse_dates`)."""
    n = len(u)
    y, m, d = (np.full(n, -1, dtype=np.int64) for _ in range(3))
    flag = np.full(n, DATE_FLAGS.index("unreadable"), dtype=np.int64)
    done = np.zeros(n, dtype=bool)
    if fmt is not None and n:
        t = pd.to_datetime(pd.Series(u.to_pandas(), dtype=object), format=fmt, errors="coerce")
        ok = t.notna().to_numpy()
        y[ok], m[ok], d[ok] = t[ok].dt.year, t[ok].dt.month, t[ok].dt.day
        flag[ok] = DATE_FLAGS.index("ok")
        done |= ok
    dmy = pc.extract_regex(
        u, r"^(?P<d>\d{1,2})[/.\-](?P<m>\d{1,2})[/.\-](?P<y>\d{4}|\d{2})(?:[ T].*)?$"
    )
    dy = _ints(dmy, "y")
    is_dmy = (dy >= 0) & ~done
    two = is_dmy & (pc.utf8_length(pc.struct_field(dmy, "y")).to_numpy(zero_copy_only=False) == 2)
    dy = np.where(two, np.where(2000 + dy <= pivot, 2000 + dy, 1900 + dy), dy)
    y[is_dmy], m[is_dmy], d[is_dmy] = dy[is_dmy], _ints(dmy, "m")[is_dmy], _ints(dmy, "d")[is_dmy]
    flag[is_dmy] = DATE_FLAGS.index("ok")
    flag[two] = DATE_FLAGS.index("two_digit_year")
    done |= is_dmy
    ymd = pc.extract_regex(u, r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})(?:[ T].*)?$")
    iy = _ints(ymd, "y")
    is_ymd = (iy >= 0) & ~done
    y[is_ymd], m[is_ymd], d[is_ymd] = iy[is_ymd], _ints(ymd, "m")[is_ymd], _ints(ymd, "d")[is_ymd]
    flag[is_ymd] = DATE_FLAGS.index("ok")
    done |= is_ymd
    is_ser = pc.match_substring_regex(u, _SERIAL.pattern).to_numpy(zero_copy_only=False) & ~done
    if is_ser.any():
        txt = pc.replace_substring(pc.filter(u, pa.array(is_ser)), ",", ".")
        sn = np.floor(pc.cast(txt, pa.float64()).to_numpy(zero_copy_only=False)).astype(np.int64)
        if system == 1904:
            base, bad = np.datetime64("1904-01-01"), sn > 2957003
        else:
            base = np.where(sn < 60, np.datetime64("1899-12-31"), np.datetime64("1899-12-30"))
            bad = (sn <= 0) | (sn == 60) | (sn > 2958465)
        days = pd.DatetimeIndex(base + np.where(bad, 0, sn).astype("timedelta64[D]"))
        sy, sm, sd = (np.where(bad, -1, a) for a in (days.year, days.month, days.day))
        sf = np.where(
            bad,
            np.where(sn == 60, DATE_FLAGS.index("serial_1900_02_29"), DATE_FLAGS.index("invalid")),
            DATE_FLAGS.index("serial"),
        )
        y[is_ser], m[is_ser], d[is_ser], flag[is_ser] = sy, sm, sd, sf
        if system != 1904:
            flag[np.flatnonzero(is_ser)[(sn > 2958465)]] = DATE_FLAGS.index("unreadable")
    # the rules on parts read as written
    read = (y >= 0) & (flag != DATE_FLAGS.index("serial"))
    inv, inc = DATE_FLAGS.index("invalid"), DATE_FLAGS.index("incomplete")
    out_range = read & ((y < 1850) | (y > pivot + 1))
    y[out_range], m[out_range], d[out_range], flag[out_range] = -1, -1, -1, inv
    read &= ~out_range
    m0 = read & (m == 0)
    m[m0], d[m0], flag[m0] = -1, -1, inc
    m13 = read & (m > 12)
    d[m13 & ((d < 1) | (d > 31))] = -1
    m[m13], flag[m13] = -1, inv
    ok_m = read & (m >= 1)
    d0 = ok_m & (d == 0)
    d[d0], flag[d0] = -1, inc
    leap = (y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0))
    mdays = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])[np.clip(m, 0, 12)] + (
        leap & (m == 2)
    )
    over = ok_m & (d > mdays)
    d[over], flag[over] = -1, inv
    return y, m, d, flag


def parse_dates(
    s: pd.Series, *, fmt: str | None = None, system: int = 1900, pivot_year: int
) -> DateParts:
    """Split a column of date texts into year, month and day, whatever their shape.

    Parameters
    ----------
    s : pandas.Series of string
        Date cells, missing where empty.
    fmt : str, optional
        A ``strptime`` format tried first (the mapping's); values it does not read fall
        back to the shapes below.
    system : {1900, 1904}
        Spreadsheet date system of bare serial numbers: 1900 (serial 1 = 1900-01-01,
        60 = the non-existent 1900-02-29 of Lotus 1-2-3, flagged ``serial_1900_02_29``
        and read as unknown, 61 = 1900-03-01) or 1904 (serial 0 = 1904-01-01).
    pivot_year : int
        A two-digit year ``yy`` is ``20yy`` when that is not after ``pivot_year``, else
        ``19yy`` (the most recent past year).

    Returns
    -------
    DateParts

    Notes
    -----
    Shapes read (a time after the date is ignored): ``dd/mm/yyyy`` (``/``, ``.`` or
    ``-``), ``dd/mm/yy``, ``yyyy-mm-dd``, bare serials. Read as written: a day/month
    swap that gives a real date stays as it is (the linkage compares swapped
    parts). ``00`` day or month is unknown (``00/06/1950``: 1950, 6, NA); month above 12
    keeps the year and the day, the month NA (``invalid``); a day beyond the month's
    end keeps year and month (``invalid``); a year before 1850 or after
    ``pivot_year + 1`` is unknown (``invalid``).
    """
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    u = pc.utf8_trim_whitespace(pa.array(np.asarray(uniques, dtype=object), type=pa.string()))
    parsed = _dates_distinct(u, fmt, system, pivot_year)
    n = len(s)
    arr = np.full((4, max(len(u), 1)), -1, dtype=np.int64)
    arr[:3, : len(u)] = parsed[:3]
    flag_names = (
        np.asarray(DATE_FLAGS, dtype=object)[parsed[3]]
        if len(u)
        else np.array(["ok"], dtype=object)
    )
    valid = codes >= 0
    take = np.where(valid, codes, 0)

    def part(j: int) -> pd.Series:
        vals = arr[j][take] if len(u) else np.full(n, -1)
        out = pd.array(vals, dtype="Int16")
        out[(vals < 0) | ~valid] = pd.NA
        return pd.Series(out, index=s.index)

    year, month, day = part(0), part(1), part(2)
    complete = year.notna() & month.notna() & day.notna()
    fl = flag_names[take][valid] if len(u) else np.array([], dtype=object)
    names, counts = np.unique(fl.astype(str), return_counts=True) if len(fl) else ([], [])
    flags = {str(k): int(c) for k, c in zip(names, counts, strict=True)}
    return DateParts(year, month, day, complete.astype(bool), flags)


def newest_year(s: pd.Series, *, fmt: str | None = None, system: int = 1900) -> int | None:
    """The newest year among a column's dates written with four digits or as serials
    (two-digit years left out): the pivot's reference from the file itself."""
    t = s.astype("string").str.strip()
    two = t.str.match(r"^\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2}(?:[ T]|$)").fillna(False).astype(bool)
    p = parse_dates(t[~two], fmt=fmt, system=system, pivot_year=9998)
    ok = p.year.notna()
    return int(p.year[ok].max()) if ok.any() else None


# --- NIR ------------------------------------------------------------------------------------

_NIR_SHAPE = r"^[0-9]{5}(?:[0-9]{2}|2A|2B)[0-9]{8}$"


def _nir_checks(a: pa.Array) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """Compact form of distinct NIR texts, and two masks: valid, and written-but-invalid.

    The checks of :func:`labforensics.leak.nir.nir_problems`, over the whole array
    (NumPy on the digits), so that a million distinct NIRs cost no Python call each.
    """
    c = pc.utf8_upper(
        pc.replace_substring_regex(a, pattern=r"[\s.\-\x{00a0}\x{202f}]+", replacement="")
    )
    written = pc.not_equal(c, "").to_numpy(zero_copy_only=False)
    shape = pc.match_substring_regex(c, _NIR_SHAPE).to_numpy(zero_copy_only=False)
    ok = shape.copy()
    if shape.any():
        sub = np.asarray(pc.filter(c, pa.array(shape)).to_pylist(), dtype="U15")
        b = sub.view(np.uint32).reshape(-1, 15) - ord("0")  # digit values; A/B give 17/18
        d = lambda i, j: (b[:, i:j] * (10 ** np.arange(j - i - 1, -1, -1))).sum(axis=1)  # noqa: E731
        sex_ok = np.isin(b[:, 0], [1, 2, 3, 4, 7, 8])
        mm = d(3, 5)
        month_ok = ((mm >= 1) & (mm <= 12)) | ((mm >= 20) & (mm <= 42)) | ((mm >= 50) & (mm <= 99))
        corsica = b[:, 6] > 9
        dep2 = np.where(corsica, 0, d(5, 7))
        dep3 = d(5, 8)
        overseas = ~corsica & np.isin(dep2, [97, 98])
        over_ok = np.isin(dep3, [971, 972, 973, 974, 975, 976, 977, 978, 984, 986, 987, 988, 989])
        dept_ok = np.where(overseas, over_ok, corsica | ((dep2 >= 1) & (dep2 <= 96)) | (dep2 == 99))
        commune_ok = np.where(overseas, d(8, 10) != 0, d(7, 10) != 0)
        order_ok = d(10, 13) != 0
        digits13 = np.where(
            corsica, d(0, 5) * 10**8 + np.where(b[:, 6] == 17, 19, 18) * 10**6 + d(7, 13), d(0, 13)
        )
        key_ok = d(13, 15) == 97 - digits13 % 97
        ok[shape] = sex_ok & month_ok & dept_ok & commune_ok & order_ok & key_ok
    valid = ok & written
    nir = pc.if_else(pa.array(valid), c, pa.scalar(None, pa.string()))
    return nir, valid, written & ~valid


def nir_form(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Normalised NIR (15 characters, ``2A``/``2B`` upper case) where structurally valid
    with the right key (:func:`labforensics.leak.nir.nir_problems` is empty), else NA;
    and ``nir_raw_invalid``: a NIR was written but is invalid (the value is dropped)."""
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    if len(uniques) == 0:
        return pd.Series(pd.NA, index=s.index, dtype="string"), pd.Series(False, index=s.index)
    nir, _valid, bad = _nir_checks(pa.array(np.asarray(uniques, dtype=object), type=pa.string()))
    take = np.where(codes < 0, 0, codes)
    out = pd.Series(np.asarray(nir.to_pylist(), dtype=object)[take], index=s.index, dtype="string")
    out[codes < 0] = pd.NA
    return out, pd.Series(bad[take] & (codes >= 0), index=s.index)


def normalise_fields(
    fields: dict[str, pd.Series],
    n: int,
    *,
    formats: dict[str, str | None],
    date_system: int,
    pivot_year: int,
    tz: str,
) -> tuple[pd.DataFrame, dict[str, object]]:
    """The person columns of :data:`PEOPLE_COLUMNS` (all but ``record_id``, ``lab``,
    ``source_file``, ``source_line``) from raw canonical cells, and their counts.

    Parameters
    ----------
    fields : dict of str to pandas.Series of string
        Raw trimmed cells per canonical field (NA where empty), all of length ``n``
        with a default index; absent fields are all NA.
    n : int
        Rows.
    formats : dict
        ``strptime`` format per date field (or None).
    date_system : {1900, 1904}
    pivot_year : int
        For two-digit years (:func:`parse_dates`).
    tz : str
        IANA zone of the local dates (``created``, ``last_visit``, ``sample_date``).

    Returns
    -------
    frame : pandas.DataFrame
    stats : dict
        ``mojibake_repaired`` (rows per field), ``dates`` (flags per date field),
        ``nir`` (``written``, ``valid``, ``invalid``), ``phone`` (``written``,
        ``parsed``), ``sex_unreadable``, ``postcode_unreadable``: counts only.
    """
    na = pd.Series(pd.NA, index=pd.RangeIndex(n), dtype="string")

    def get(f: str) -> pd.Series:
        s = fields.get(f)
        return na if s is None else s.reset_index(drop=True).astype("string")

    out: dict[str, pd.Series] = {}
    stats: dict[str, object] = {}
    moj: dict[str, int] = {}
    for f in TEXT_FIELDS:
        s, k = repair_mojibake(get(f))
        if k:
            moj[f] = k
        out[f] = (
            address_form(s) if f == "address" else city_form(s) if f == "city" else name_form(s)
        )
    stats["mojibake_repaired"] = moj
    out["first_name_first"] = first_word(out["first_name"])
    out["sex"] = sex_form(get("sex"))
    stats["sex_unreadable"] = int((get("sex").notna() & out["sex"].isna()).sum())
    dates: dict[str, dict[str, int]] = {}
    for f in DATE_FIELDS:
        p = parse_dates(get(f), fmt=formats.get(f), system=date_system, pivot_year=pivot_year)
        if p.flags:
            dates[f] = p.flags
        if f == "birth_date":
            out["birth_date"] = p.iso()
            out["birth_year"], out["birth_month"], out["birth_day"] = p.year, p.month, p.day
        else:
            out[f] = p.local_midnight_utc(tz)
    stats["dates"] = dates
    out["nir"], out["nir_raw_invalid"] = nir_form(get("nir"))
    stats["nir"] = {
        "written": int(get("nir").notna().sum()),
        "valid": int(out["nir"].notna().sum()),
        "invalid": int(out["nir_raw_invalid"].sum()),
    }
    out["qualite"] = qualite_form(get("qualite"))
    stats["qualite_unknown"] = int(
        (out["qualite"].notna() & ~out["qualite"].isin(KNOWN_QUALITE)).sum()
    )
    out["rang"] = rang_form(get("rang"))
    out["postcode"] = postcode_form(get("postcode"))
    stats["postcode_unreadable"] = int((get("postcode").notna() & out["postcode"].isna()).sum())
    out["phone"] = phone_form(get("phone"))
    stats["phone"] = {
        "written": int(get("phone").notna().sum()),
        "parsed": int(out["phone"].notna().sum()),
    }
    frame = pd.DataFrame({c: out[c] for c in PEOPLE_COLUMNS if c in out})
    return frame, stats
