"""The shapes of the leaked dump's files and the per-row name damage (see :mod:`.dumps`).

:data:`SHAPES` lists the files a dump can hold, in the shapes of
``leak-dump.md``; :func:`mangle` and :func:`moji` damage one row's names as
people and exports do.
"""

from __future__ import annotations

import unicodedata

import numpy as np

from .people import typo

__all__ = ["SHAPES", "CLASSES", "MANGLES", "mangle", "moji"]


# canonical field, header; fixed-width files add a width
SHAPES: tuple[dict, ...] = (
    dict(name="extraction_patients.csv", sep=";", encoding="cp1252", eol="\r\n", date="dmy",
         empty="", sort="sample", cols=(
             ("surname", "NOM"), ("first", "PRENOM"), ("birth", "DATE_NAISSANCE"), ("sex", "SEXE"),
             ("nir", "NIR"), ("address", "ADRESSE"), ("postcode", "CP"), ("city", "VILLE"),
             ("phone", "TEL"), ("sample", "DATE_PRELEVEMENT"), ("exam", "EXAMENS"),
             ("result", "RESULTAT"))),
    dict(name="base_clients.csv", sep=",", encoding="utf-8", eol="\n", date="ymd", empty="NULL",
         quote=True, sort="surname", cols=(
             ("surname", "nom_patient"), ("first", "prenom"), ("birth", "ddn"), ("nir", "num_secu"),
             ("address", "adresse"), ("postcode", "code_postal"), ("city", "ville"),
             ("phone", "portable"), ("gp", "medecin"), ("insurer", "mutuelle"),
             ("sample", "date_prelevement"), ("lab", "laboratoire"))),
    dict(name="export_unicode.txt", sep="\t", encoding="utf-16", eol="\r\n", date="serial",
         empty="", sort=None, cols=(
             ("surname", "Nom"), ("first", "Prénom"), ("birth", "Date de naissance"),
             ("nir", "N° SS"), ("blood", "Groupe sanguin"), ("phone", "Tel"),
             ("sample", "Date prélèvement"), ("exam", "Examens"), ("result", "Résultat"))),
    dict(name="fichier_complet.csv", sep="|", encoding="utf-8", eol="\n", date="dmy2",
         empty="N/A", sort="nir", cols=(
             ("surname", "NOM"), ("birth_name", "NOM_NAISSANCE"), ("first", "PRENOM"),
             ("birth", "DDN"), ("nir", "Num secu"), ("address", "Adresse"), ("postcode", "CP"),
             ("city", "Ville"), ("phone", "Tel"), ("sample", "Date prélèvement"), ("gp", "Médecin"))),
    dict(name="liste_fixe.txt", sep=None, encoding="cp1252", eol="\r\n", date="dmy", empty="",
         sort="surname", cols=(
             ("surname", "NOM", 32), ("first", "PRENOM", 26), ("birth", "DDN", 11),
             ("nir", "NIR", 22), ("postcode", "CP", 6), ("city", "VILLE", 26), ("phone", "TEL", 18),
             ("sample", "DATE_PREL", 10))),
    dict(name="contacts.csv", sep=";", encoding="utf-8-sig", eol="\n", date="dmy", empty="-",
         sort=None, cols=(
             ("surname", "Nom"), ("first", "Prénom"), ("address", "Adresse"), ("postcode", "CP"),
             ("city", "Ville"), ("phone", "Portable"), ("insurer", "Mutuelle"),
             ("sample", "Date prélèvement"))),
    dict(name="resultats.txt", sep="\t", encoding="utf-8", eol="\n", date="ymd", empty="NULL",
         sort="sample", cols=(
             ("nir", "NIR"), ("birth", "DDN"), ("surname", "NOM"), ("first", "PRENOM"),
             ("sex", "SEXE"), ("lab", "Laboratoire"), ("blood", "Groupe sanguin"),
             ("exam", "Examens"), ("result", "Résultat"), ("sample", "Date prélèvement"))),
)  # fmt: skip
CLASSES = ("indexed", "outsider_relative", "outsider", "fabricated")
MANGLES = ("", "accents", "case", "hyphen", "swap", "typo")


def _strip(v: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", v) if unicodedata.category(c) != "Mn")


def mangle(sur: str, bn: str, first: str, u: np.ndarray) -> tuple[str, str, str, str]:
    """One mangling among those that change this row; returns the kind and the names."""
    ops = []
    if not (sur + first).isascii():
        ops.append("accents")
    ops.append("case")
    if any(c in sur + first for c in "- "):
        ops.append("hyphen")
    if bn and bn != sur:
        ops.append("swap")
    ops.append("typo")
    op = ops[int(u[0] * len(ops))]
    if op == "accents":
        return op, _strip(sur), _strip(bn), _strip(first)
    if op == "case":
        if u[1] < 0.5:
            return op, sur.title() if sur.isupper() else sur.upper(), bn, first
        return op, sur, bn, first.upper() if not first.isupper() else first.title()
    if op == "hyphen":
        if any(c in first for c in "- ") and (u[1] < 0.5 or not any(c in sur for c in "- ")):
            return op, sur, bn, first.replace("-", " " if u[2] < 0.5 else "")
        return op, sur.replace("-", " ").replace(" ", "" if u[2] < 0.5 else " "), bn, first
    if op == "swap":
        return op, bn, sur, first
    if u[1] < 0.6:
        return op, typo(sur, u[2], u[3]), bn, first
    return op, sur, bn, typo(first, u[2], u[3])


def moji(v: str) -> str:
    try:
        return v.encode("utf-8").decode("cp1252")
    except UnicodeDecodeError:
        return v
