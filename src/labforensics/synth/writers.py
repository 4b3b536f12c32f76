"""Formatting event blocks into the two CSV dialects, column by column (pyarrow).

A lab's events are formatted at once: each column is a ``take`` from a small
table of pre-formatted (and pre-quoted) strings, the columns are joined with
``;`` by :func:`pyarrow.compute.binary_join_element_wise`, and each daily file
is a byte slice of the joined buffer. No Python object per event.
"""

from __future__ import annotations

import gzip
import io

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .clock import DAY

__all__ = [
    "LEGACY_HEADER",
    "CURRENT_HEADER",
    "BOM",
    "csv_quote",
    "gzip_bytes",
    "hms_table",
    "format_rows",
    "group_digits",
]

LEGACY_HEADER = "DATE;HEURE;LABO;SITE;UTILISATEUR;PROFIL;POSTE;IP;MODULE;ACTION;RESULTAT;IPP;DOSSIER;NB_ENREG;DETAIL"
CURRENT_HEADER = "horodatage;code_labo;code_site;login;profil;poste;adresse_ip;module;action;statut;ipp;num_demande;nb_lignes;volume_octets;id_session;commentaire"
BOM = b"\xef\xbb\xbf"


def csv_quote(s: str) -> str:
    """Quote a field for ``;``-separated CSV when it holds ``;``, ``"``, CR or LF."""
    if any(c in s for c in ';"\r\n'):
        return '"' + s.replace('"', '""') + '"'
    return s


def gzip_bytes(data: bytes) -> bytes:
    """Deterministic gzip: no file name, mtime 0, level 4."""
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=4) as g:
        g.write(data)
    return buf.getvalue()


_HMS: pa.Array | None = None


def hms_table() -> pa.Array:
    """``HH:MM:SS`` for every second of a day (86,400 strings)."""
    global _HMS
    if _HMS is None:
        s = np.arange(DAY)
        _HMS = pa.array(
            [
                f"{h:02d}:{m:02d}:{x:02d}"
                for h, m, x in zip(s // 3600, s // 60 % 60, s % 60, strict=True)
            ]
        )
    return _HMS


def group_digits(values: np.ndarray, rng: np.random.Generator) -> list[str]:
    """French digit grouping for some numbers >= 1000: plain, space, or no-break space."""
    out = []
    style = rng.integers(0, 3, len(values))
    for v, st in zip(values.tolist(), style.tolist(), strict=True):
        if st == 0:
            out.append(str(v))
        else:
            sep = " " if st == 1 else "\xa0"
            out.append(f"{v:,}".replace(",", sep))
    return out


def _int_col(v: np.ndarray) -> pa.Array:
    return pa.array(v, mask=v < 0).cast(pa.string()).fill_null("")


def _take(table: pa.Array, idx: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    ix = pa.array(idx, mask=mask) if mask is not None else pa.array(idx)
    r = table.take(ix)
    return r.fill_null("") if mask is not None else r


def format_rows(cols: list[pa.Array], line_end: str) -> tuple[np.ndarray, np.ndarray]:
    """Join string columns into rows; return (UTF-8 bytes as uint8, row offsets)."""
    joined = pc.binary_join_element_wise(*cols, ";")
    joined = pc.binary_join_element_wise(joined, line_end, "")
    if isinstance(joined, pa.ChunkedArray):
        joined = joined.combine_chunks()
    joined = joined.cast(pa.large_string())
    bufs = joined.buffers()
    n = len(joined)
    offs = np.frombuffer(bufs[1], dtype=np.int64)[joined.offset : joined.offset + n + 1]
    data = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.zeros(0, np.uint8)
    if not n:
        return np.zeros(0, np.uint8), np.zeros(1, np.int64)
    return data[offs[0] : offs[-1]], offs - offs[0]
