"""The leaked dump's files: their shapes, the per-row name damage, writing them (see :mod:`.dumps`).

:data:`SHAPES` lists the files a dump can hold, in the shapes of
``leak-dump.md``; :func:`mangle` and :func:`moji` damage one row's names as
people and exports do; :func:`write_files` writes the rows into their files.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .._arrays import unique_sorted
from ..errors import ParameterError
from .people import LinkageSettings, typo
from .textfmt import fmt_dates

__all__ = ["SHAPES", "CLASSES", "MANGLES", "mangle", "moji", "write_files", "write_file", "column"]


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


#: Dump field -> the logical-row column written as is (the others are formatted per file).
_PLAIN = {"surname": "sur", "birth_name": "bn", "first": "first", "sex": "sex_txt",
          "address": "address", "postcode": "postcode", "city": "city", "phone": "phone_txt",
          "gp": "gp", "insurer": "insurer", "blood": "blood", "exam": "exam", "result": "result",
          "lab": "lab_txt"}  # fmt: skip


def column(rng: np.random.Generator, v: dict, fld: str, lg: np.ndarray, sh: dict) -> np.ndarray:
    """The text of field ``fld`` for the logical rows ``lg`` in the shape ``sh``."""
    empty = sh["empty"]
    if fld in _PLAIN:
        return v[_PLAIN[fld]][lg]
    if fld == "birth":
        out = fmt_dates(v["birth_w"][lg], sh["date"], v["partial"][lg]).astype(object)
        dropped = v["birth_drop"][lg]
        out[dropped] = empty
        if sh["date"] == "dmy":
            out[dropped & (rng.random(len(lg)) < 0.5)] = "00/00/0000"
        return out
    if fld == "nir":
        out = v["nir_txt"][lg].copy()
        out[v["nir_drop"][lg]] = empty
        return out
    if fld == "sample":
        return fmt_dates(v["sample"][lg], sh["date"]).astype(object)
    raise ParameterError(f"unknown field {fld}")  # pragma: no cover - SHAPES is fixed


def write_files(
    rng: np.random.Generator,
    v: dict,
    ph_log: np.ndarray,
    ph_file: np.ndarray,
    sources: list[dict],
    s: LinkageSettings,
    out: Path,
) -> tuple[np.ndarray, list[Path], list[dict]]:
    """Write ``dump/*`` (rows ordered per file); return each physical row's line, paths, shapes."""
    line = np.zeros(len(ph_log), np.int64)
    surname_sort = pa.array(v["sur"], pa.string())
    paths, shapes_out = [], []
    ddir = out / "dump"
    ddir.mkdir(parents=True, exist_ok=True)
    for fi in sorted(set(unique_sorted(ph_file).tolist())):
        sh = SHAPES[fi]
        idx = np.where(ph_file == fi)[0]
        lg = ph_log[idx]
        if sh["sort"] == "sample":
            order = np.lexsort((lg, v["sample"][lg]))
        elif sh["sort"] == "surname":
            order = np.asarray(
                pc.sort_indices(
                    pa.table({"s": surname_sort.take(pa.array(lg)), "i": pa.array(lg)}),
                    sort_keys=[("s", "ascending"), ("i", "ascending")],
                )
            )
        elif sh["sort"] == "nir":
            order = np.lexsort((lg, v["nir"][lg]))
        else:
            order = rng.permutation(len(idx))
        idx = idx[order]
        lg = ph_log[idx]
        no_header = s.headerless_contacts and sh["name"] == "contacts.csv"
        line[idx] = np.arange(len(idx)) + (1 if no_header else 2)
        p = ddir / sh["name"]
        write_file(p, sh, [column(rng, v, c[0], lg, sh) for c in sh["cols"]], no_header)
        paths.append(p)
        shapes_out.append(
            {
                "file": sh["name"],
                "separator": "fixed-width" if sh["sep"] is None else sh["sep"],
                "encoding": "utf-16-le with BOM" if sh["encoding"] == "utf-16" else sh["encoding"],
                "line_end": "CRLF" if sh["eol"] == "\r\n" else "LF",
                "date_format": sh["date"],
                "empty": sh["empty"],
                "sort": sh["sort"],
                "columns": [
                    {"field": c[0], "header": c[1], **({"width": c[2]} if len(c) > 2 else {})}
                    for c in sh["cols"]
                ],
                "rows": len(idx),
                "has_header": not no_header,
                "source": sources[int(v["src"][lg[0]])]["source"] if len(lg) else None,
            }
        )
    return line, paths, shapes_out


def write_file(p: Path, sh: dict, values: list[np.ndarray], no_header: bool) -> None:
    """One dump file from its columns' text, in its shape (separator, quotes, widths, encoding)."""
    empty = sh["empty"]
    cols = []
    for c, val in zip(sh["cols"], values, strict=True):
        a = pa.array(val, pa.string())
        if empty:
            a = pc.if_else(pc.equal(a, ""), empty, a)
        if sh.get("quote"):
            a = pc.replace_substring(a, '"', '""')
        if sh["sep"] is None:
            a = pc.utf8_rpad(pc.utf8_slice_codeunits(a, 0, c[2]), c[2], " ")
        cols.append(a)
    n = len(values[0]) if values else 0
    heads = [c[1] for c in sh["cols"]]
    if sh["sep"] is None:
        header = "".join(h.ljust(c[2]) for h, c in zip(heads, sh["cols"], strict=True))
        body = pc.binary_join_element_wise(*cols, "")
    elif sh.get("quote"):
        header = '"' + '","'.join(heads) + '"'
        body = pc.binary_join_element_wise(*cols, '","')
        body = pc.binary_join_element_wise(pa.array(['"'] * n), body, pa.array(['"'] * n), "")
    else:
        header = sh["sep"].join(heads)
        body = pc.binary_join_element_wise(*cols, sh["sep"])
    eol = sh["eol"]
    text = eol.join([*([] if no_header else [header]), *body.to_pylist()]) + eol
    if sh["encoding"] == "utf-16":
        p.write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
    else:
        p.write_bytes(text.encode(sh["encoding"]))
