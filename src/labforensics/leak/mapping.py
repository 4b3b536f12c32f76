"""Column mappings of patient indexes and leaked dumps (``shared/formats/patient-index.md``).

A mapping (TOML) says which source column holds which canonical field. Several
mappings may be given; each file is read with the first one that recognises it,
as the audit profiles are chosen (:mod:`labforensics.ingest.profiles`):

1. by content: a mapping whose ``header`` is the file's first non-blank line
   (BOM and line end dropped, compared exactly);
2. else by name: the first mapping whose ``files`` glob pattern matches the file
   name (case-insensitive, :func:`fnmatch.fnmatch`);
3. else a single mapping with neither ``header`` nor ``files`` reads every file;
4. else no mapping: columns are recognised by their header names
   (:data:`FIELD_NAMES`, compared without accents, case or punctuation).

Keys
----
``name`` (str, required)
    Recorded in the report.
``files`` (str) / ``header`` (str)
    How files are chosen (above).
``encoding`` (str)
    ``utf-8``, ``utf-8-sig``, ``cp1252`` or ``utf-16`` (a BOM is then required);
    sniffed when absent.
``separator`` (str)
    One character (``"\\t"`` for tab); sniffed among ``;`` ``,`` ``|`` tab when absent.
``has_header`` (bool, default true)
    false: the columns are given by 1-based position.
``date_format`` (str)
    ``strptime`` format tried first for every date field (a per-field ``format``
    wins); values it does not read fall back to the usual shapes.
``date_system`` (1900 or 1904, default 1900)
    Spreadsheet date system of bare serial numbers in date fields.
``empty`` (list of str)
    Cell texts read as missing (compared trimmed, case-insensitive); default
    ``["", "NULL", "N/A", "-", "00/00/0000"]``.
``[columns]``
    ``field = "header name"``, ``field = 3`` (1-based position), ``field = { column =
    ..., format = "%Y-%m-%d" }``, or for fixed-width text ``field = { start = 1, end =
    20 }`` (1-based character positions, both included). Fields:
    :data:`FIELDS`. A field may be given once.

Errors in a mapping raise :class:`labforensics.errors.ProfileError` naming the
mapping, the key and the fix.
"""

from __future__ import annotations

import fnmatch
import os
import re
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ProfileError

__all__ = [
    "DEFAULT_EMPTY",
    "FIELDS",
    "FIELD_NAMES",
    "ColumnSpec",
    "ColumnMapping",
    "choose_mapping",
    "header_key",
    "load_mapping",
    "load_mappings",
]

#: Canonical fields: the index's, then those only dumps hold.
INDEX_FIELDS = (
    "ipp",
    "lab",
    "surname",
    "birth_name",
    "first_name",
    "sex",
    "birth_date",
    "nir",
    "qualite",
    "rang",
    "address",
    "postcode",
    "city",
    "phone",
    "created",
    "last_visit",
)
DUMP_ONLY_FIELDS = ("sample_date", "gp", "insurer", "blood_group", "exams", "result")
FIELDS = INDEX_FIELDS + DUMP_ONLY_FIELDS

#: Cell texts read as missing unless a mapping says otherwise.
DEFAULT_EMPTY = ("", "NULL", "N/A", "-", "00/00/0000")


def header_key(name: str) -> str:
    """A header name compared without accents, case or punctuation (``N° SS`` -> ``n_ss``)."""
    t = unicodedata.normalize("NFKD", name)
    t = "".join(c for c in t if not unicodedata.combining(c)).lower()
    return re.sub(r"[^a-z0-9]+", "_", t).strip("_")


_NAMES: dict[str, tuple[str, ...]] = {
    "ipp": ("IPP", "NumPatient", "Num patient", "Numéro patient", "ID patient", "patient_id",
            "id_patient", "N° patient", "Num dossier"),
    "lab": ("Laboratoire", "Labo", "Lab", "Code labo", "Lab code", "FINESS"),
    "surname": ("NOM", "Nom", "nom_patient", "Nom usage", "Nom d'usage", "Nom usuel", "surname",
                "last_name", "nom_usage"),
    "birth_name": ("NOM_NAISSANCE", "Nom de naissance", "Nom naissance", "Nom de jeune fille",
                   "Nom JF", "birth_name", "maiden_name"),
    "first_name": ("PRENOM", "Prénom", "Prénoms", "prenom_patient", "first_name", "given_name"),
    "sex": ("SEXE", "Sexe", "sex", "Genre", "gender"),
    "birth_date": ("DATE_NAISSANCE", "Date de naissance", "Date naissance", "DDN", "Né le",
                   "Naissance", "birth_date", "date_of_birth", "dob"),
    "nir": ("NIR", "N° SS", "No SS", "Num SS", "Num secu", "Numéro sécu", "N° sécu", "Numéro SS",
            "Numéro de sécurité sociale", "N° sécurité sociale", "Sécurité sociale", "INSEE",
            "secu", "nir_assure"),
    "qualite": ("QUALITE", "Qualité", "Qualité bénéficiaire", "Code qualité"),
    "rang": ("RANG", "Rang", "Rang naissance", "Rang de naissance", "Rang gémellaire"),
    "address": ("ADRESSE", "Adresse", "Adresse 1", "Adresse postale", "Rue", "address"),
    "postcode": ("CODE_POSTAL", "CP", "Code postal", "postcode", "zip"),
    "city": ("VILLE", "Ville", "Commune", "Localité", "city"),
    "phone": ("TELEPHONE", "Téléphone", "Tel", "Tél", "Portable", "Mobile", "Tel portable",
              "Tél portable", "Téléphone portable", "Tel fixe", "Tel domicile", "phone"),
    "created": ("DATE_CREATION", "Date création", "Date de création", "Créé le",
                "Date enregistrement"),
    "last_visit": ("DERNIERE_VISITE", "Dernière visite", "Date dernière visite",
                   "Date dernier passage"),
    "sample_date": ("Date prélèvement", "Date de prélèvement", "Date prelevement", "Date examen",
                    "Date analyse", "Date", "sample_date", "DATE_PREL", "Date prél", "Prélevé le"),
    "gp": ("Médecin", "Médecin traitant", "Medecin prescripteur", "Prescripteur", "GP"),
    "insurer": ("Mutuelle", "Caisse", "Organisme", "Complémentaire", "insurer"),
    "blood_group": ("Groupe sanguin", "Groupe", "Groupe ABO", "blood_group"),
    "exams": ("Examens", "Examen", "Analyses", "Analyse", "Actes", "exams"),
    "result": ("Résultat", "Résultats", "result", "results"),
}  # fmt: skip

#: Normalised header name (:func:`header_key`) -> canonical field, for files read without
#: a mapping: the names of ``patient-index.md`` and ``leak-dump.md`` and usual variants.
FIELD_NAMES: dict[str, str] = {header_key(n): f for f, names in _NAMES.items() for n in names}


@dataclass(frozen=True)
class ColumnSpec:
    """Where one canonical field is read: a header name, a 1-based position, or a
    fixed-width character range (1-based, both ends included)."""

    field: str
    column: str | None = None
    position: int | None = None
    start: int | None = None
    end: int | None = None
    format: str | None = None

    def describe(self) -> str:
        """How the report names the source (never a cell's value)."""
        if self.start is not None:
            where = f"characters {self.start}-{self.end}"
            return f"header '{self.column}' ({where})" if self.column else where
        if self.position is not None:
            return f"column {self.position}"
        return f"header '{self.column}'"


@dataclass(frozen=True)
class ColumnMapping:
    """One column mapping (see the module docstring for the keys)."""

    name: str
    columns: tuple[ColumnSpec, ...]
    files: str | None = None
    header: str | None = None
    encoding: str | None = None
    separator: str | None = None
    has_header: bool = True
    date_format: str | None = None
    date_system: int = 1900
    empty: tuple[str, ...] = DEFAULT_EMPTY
    source: str = field(default="<dict>", compare=False)

    @property
    def fixed_width(self) -> bool:
        """True when the columns are character ranges."""
        return any(c.start is not None for c in self.columns)


_ENCODINGS = ("utf-8", "utf-8-sig", "cp1252", "utf-16")
_KEYS = {"name", "files", "header", "encoding", "separator", "has_header", "date_format",
         "date_system", "empty", "columns"}  # fmt: skip


def _err(src: str, key: str, problem: str, fix: str) -> ProfileError:
    return ProfileError(f"column mapping {src}: '{key}' {problem}; {fix}")


def _spec(src: str, fld: str, v: Any, has_header: bool) -> ColumnSpec:
    key = f"columns.{fld}"
    if fld not in FIELDS:
        raise _err(src, key, "is no canonical field", f"use one of {', '.join(FIELDS)}")
    fmt = None
    if isinstance(v, dict):
        unknown = set(v) - {"column", "format", "start", "end"}
        if unknown:
            raise _err(src, key, f"has unknown keys {sorted(unknown)}",
                       "use column, format, or start and end")  # fmt: skip
        fmt = v.get("format")
        if fmt is not None and not isinstance(fmt, str):
            raise _err(src, key + ".format", "is not a string", 'write format = "%d/%m/%Y"')
        if "start" in v or "end" in v:
            s, e = v.get("start"), v.get("end")
            if not (isinstance(s, int) and isinstance(e, int) and 1 <= s <= e):
                raise _err(src, key, "needs integers 1 <= start <= end",
                           "write { start = 1, end = 20 } (characters, both included)")  # fmt: skip
            return ColumnSpec(fld, start=s, end=e, format=fmt)
        v = v.get("column")
    if isinstance(v, bool) or not isinstance(v, str | int):
        raise _err(src, key, "is neither a column name nor a position",
                   'write field = "Header name" or field = 3')  # fmt: skip
    if isinstance(v, int):
        if v < 1:
            raise _err(src, key, "is a position below 1", "positions start at 1")
        return ColumnSpec(fld, position=v, format=fmt)
    if not has_header:
        raise _err(src, key, "names a column but has_header = false",
                   "give the column's 1-based position")  # fmt: skip
    return ColumnSpec(fld, column=v, format=fmt)


def mapping_from_dict(data: Mapping[str, Any], source: str = "<dict>") -> ColumnMapping:
    """Build a :class:`ColumnMapping` from parsed TOML.

    Raises
    ------
    ProfileError
        Unknown key, missing ``name`` or ``[columns]``, bad encoding, separator,
        field, position or range (the message names the key and the fix).
    """
    src = source
    unknown = set(data) - _KEYS
    if unknown:
        raise _err(src, sorted(unknown)[0], "is not a mapping key", f"use {sorted(_KEYS)}")
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise _err(src, "name", "is missing", 'write name = "patients_lab_x"')
    enc = data.get("encoding")
    if enc is not None and str(enc).lower() not in _ENCODINGS:
        raise _err(src, "encoding", f"is not one of {_ENCODINGS}", "choose one of them")
    sep = data.get("separator")
    if sep is not None and (not isinstance(sep, str) or len(sep) != 1):
        raise _err(src, "separator", "is not one character", 'write separator = ";" or "\\t"')
    has_header = data.get("has_header", True)
    if not isinstance(has_header, bool):
        raise _err(src, "has_header", "is not true or false", "write has_header = false")
    system = data.get("date_system", 1900)
    if system not in (1900, 1904):
        raise _err(src, "date_system", "is not 1900 or 1904", "write date_system = 1904")
    empty = data.get("empty", list(DEFAULT_EMPTY))
    if not isinstance(empty, list) or not all(isinstance(e, str) for e in empty):
        raise _err(src, "empty", "is not a list of strings", 'write empty = ["", "NULL"]')
    cols = data.get("columns")
    if not isinstance(cols, dict) or not cols:
        raise _err(src, "columns", "is missing or empty", 'add [columns] with ipp = "IPP" ...')
    specs = tuple(_spec(src, f, v, has_header) for f, v in cols.items())
    kinds = {c.start is not None for c in specs}
    if len(kinds) > 1:
        raise _err(src, "columns", "mixes character ranges and columns",
                   "give every field as { start, end } for a fixed-width file")  # fmt: skip
    for k in ("files", "header", "date_format"):
        if data.get(k) is not None and not isinstance(data[k], str):
            raise _err(src, k, "is not a string", f'write {k} = "..."')
    return ColumnMapping(
        name=name,
        columns=specs,
        files=data.get("files"),
        header=data.get("header"),
        encoding=None if enc is None else str(enc).lower(),
        separator=sep,
        has_header=has_header,
        date_format=data.get("date_format"),
        date_system=int(system),
        empty=tuple(empty),
        source=src,
    )


def load_mapping(
    mapping: str | os.PathLike[str] | Mapping[str, Any] | ColumnMapping,
) -> ColumnMapping:
    """A mapping from a TOML file, a parsed dict, or a :class:`ColumnMapping` (returned).

    Raises
    ------
    ProfileError
        The file cannot be read or is not valid TOML, or a key is invalid.
    """
    if isinstance(mapping, ColumnMapping):
        return mapping
    if isinstance(mapping, Mapping):
        return mapping_from_dict(mapping)
    p = Path(mapping)
    try:
        with open(p, "rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise ProfileError(
            f"column mapping {p}: cannot be read ({exc.strerror}); check the path"
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"column mapping {p}: not valid TOML ({exc}); fix the syntax") from exc
    return mapping_from_dict(data, str(p))


def load_mappings(mappings: Any) -> tuple[ColumnMapping, ...]:
    """Zero, one or several mappings (None, a path, a dict, a mapping, or a list of them)."""
    if mappings is None:
        return ()
    if isinstance(mappings, str | os.PathLike | Mapping | ColumnMapping):
        return (load_mapping(mappings),)
    if isinstance(mappings, Iterable):
        return tuple(load_mapping(m) for m in mappings)
    raise ProfileError(f"mapping of type {type(mappings).__name__}: give a path, a dict or a list")


def choose_mapping(
    mappings: tuple[ColumnMapping, ...], name: str, first_line: str | None
) -> ColumnMapping | None:
    """The mapping that reads a file (module docstring: header, then name, then the
    only general mapping); None when no mapping applies."""
    if first_line is not None:
        for m in mappings:
            if m.header is not None and m.header == first_line:
                return m
    for m in mappings:
        if m.files is not None and fnmatch.fnmatch(name.lower(), m.files.lower()):
            return m
    general = [m for m in mappings if m.files is None and m.header is None]
    return general[0] if len(general) == 1 else None
