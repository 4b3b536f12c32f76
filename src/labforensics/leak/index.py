"""The labs' patient indexes (IPP -> NIR), keyed on read, and the small-CSV helpers the
leak reader shares with them. No raw identifier is kept."""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._arrays import unique_sorted
from ..errors import AttributionError
from ..ingest._bytes_text import decode_escaped_counting
from ..ingest._lis_encoding import ESCAPED
from ..labcodes import lab_alias_map, resolve_lab_series
from ..privacy import CaseKey, pseudonymise, pseudonymise_nirs
from .nir import NIR_SEPARATORS

_NIR_NAMES = ("nir", "num_secu", "numero_secu", "secu", "ssn", "insee", "numero_securite_sociale")


_LAB_NAMES = ("lab", "labo", "code_labo", "laboratoire", "finess", "lab_code")


def _sniff_sep(text: str) -> str:
    first = text.splitlines()[0] if text else ""
    counts = {s: first.count(s) for s in (";", ",", "\t", "|")}
    best = max(counts, key=lambda s: (counts[s], s == ";"))
    return best if counts[best] else ";"


@dataclass(frozen=True)
class SmallText:
    """A small text file decoded, with what its decoding could not read.

    Attributes
    ----------
    text : str
        The content; each byte that is not text of ``encoding`` is U+FFFD followed by
        its hex (``x81``), as the evidence readers write it
        (:mod:`labforensics.ingest._bytes_text`): never a bare U+FFFD, so two values
        damaged differently stay two.
    encoding : str
        ``utf-16``, ``utf-8`` or ``cp1252`` (the first that reads the file).
    replaced : int
        Undecodable bytes (cp1252 leaves five bytes undefined; UTF-16 an odd last byte
        or an unpaired surrogate), one U+FFFD each.
    lines : tuple of int
        The 1-based physical lines (``\\n``-separated) holding them, ascending.
    """

    text: str
    encoding: str
    replaced: int = 0
    lines: tuple[int, ...] = ()

    def note(self, what: str, p: Path | str) -> str:
        """``"{what} {name}: N undecodable byte(s) (enc) read as ...: line(s) ..."``
        (first 10 lines), the evidence readers' words: counts and lines, never a value."""
        shown = ", ".join(str(x) for x in self.lines[:10])
        more = f" (+{len(self.lines) - 10} more)" if len(self.lines) > 10 else ""
        return (f"{what} {Path(p).name}: {self.replaced:,} {self.what()}: "
                f"line(s) {shown}{more}")  # fmt: skip

    def what(self) -> str:
        """``"undecodable byte(s) (cp1252) read as U+FFFD followed by its hex (xNN)"``."""
        return f"undecodable byte(s) ({self.encoding}) read as {ESCAPED}"


def _replaced(raw: bytes, codec: str, encoding: str) -> SmallText:
    """``raw`` decoded with each undecodable byte escaped (U+FFFD and its hex), those
    bytes counted and placed by line."""
    utf8, pos = decode_escaped_counting(raw, codec)
    nl = np.flatnonzero(np.frombuffer(utf8, dtype=np.uint8) == 10)
    lines = unique_sorted(np.searchsorted(nl, pos, side="left") + 1).tolist()
    return SmallText(utf8.decode("utf-8"), encoding, len(pos), tuple(lines))


def _read_text(p: Path, what: str) -> SmallText:
    """A small text file's content: UTF-16 with a BOM, UTF-8 (BOM or not), else cp1252;
    bytes none of them reads are counted and placed by line (:class:`SmallText`), never
    replaced silently.

    Raises
    ------
    AttributionError
        When the file cannot be read (the message names ``what`` and the path).
    """
    try:
        with open(p, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise AttributionError(f"cannot read {what} {p}: {exc}; check the path") from exc
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):  # UTF-16 with a BOM ("Unicode text")
        try:
            return SmallText(raw.decode("utf-16"), "utf-16")
        except UnicodeDecodeError:
            return _replaced(raw[2:], "utf-16-le" if raw[0] == 0xFF else "utf-16-be", "utf-16")
    try:
        return SmallText(raw.decode("utf-8-sig"), "utf-8")
    except UnicodeDecodeError:
        return _replaced(raw, "cp1252", "cp1252")  # five bytes cp1252 leaves undefined


def _read_table(path: str | os.PathLike[str], what: str) -> pd.DataFrame:
    """Read a small CSV (sep sniffed among ; , tab; UTF-8 or cp1252) as strings.

    Raises
    ------
    AttributionError
        When the file cannot be read, is not a CSV with a header, or holds bytes its
        encoding cannot read (their count and lines named, never their values: a
        patient index's IPP or NIR read with U+FFFD would key the wrong patient).
    """
    p = Path(path)
    read = _read_text(p, what)
    if read.replaced:
        raise AttributionError(
            read.note(what, p) + "; those rows' identifiers cannot be trusted: give the "
            "table as UTF-8 (or cp1252 text without the bytes 0x81, 0x8D, 0x8F, 0x90, 0x9D)"
        )
    text = read.text
    sep = _sniff_sep(text)
    try:
        df = pd.read_csv(
            io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, skipinitialspace=True
        )
    except (pd.errors.ParserError, ValueError) as exc:
        raise AttributionError(
            f"{what} {p} is not a CSV with a header (sep {sep!r}): {exc}"
        ) from exc
    df.columns = [str(c).strip() for c in df.columns]
    return df


def _pick(columns: Iterable[str], names: Sequence[str], given: str | None) -> str | None:
    cols = list(columns)
    if given is not None:
        if given not in cols:
            raise AttributionError(f"column {given!r} not in {cols}")
        return given
    low = {c.lower(): c for c in cols}
    for n in names:
        if n in low:
            return low[n]
    return None


def _normalise_nir(s: pd.Series) -> pd.Series:
    """Upper case, separators removed (:data:`leak.nir.NIR_SEPARATORS`), the key dropped.

    13 characters are kept: the exact-NIR method matches on the number, not its key.
    """
    t = s.astype("string").str.upper().str.replace(NIR_SEPARATORS, "", regex=True)
    return t.where(t.str.len() != 15, t.str.slice(0, 13))


def _read_index(
    index: Any,
    key: CaseKey,
    aliases: Mapping[str, str],
    index_lab_column: str | None,
) -> pd.DataFrame:
    """Patient index(es) -> DataFrame ``lab``, ``nir_h``, ``patient`` (raw values dropped)."""
    frames: list[tuple[pd.DataFrame, str | None, str]] = []
    if isinstance(index, pd.DataFrame):
        frames.append((index.astype(str), None, "patient index table"))
    elif isinstance(index, Mapping):
        for lab in sorted(index):
            src = index[lab]
            df = src.astype(str) if isinstance(src, pd.DataFrame) else _read_table(src, "index")
            frames.append((df, str(lab), f"patient index of {lab}"))
    elif isinstance(index, str | os.PathLike):
        frames.append((_read_table(index, "patient index"), None, str(index)))
    else:
        for src in index:
            frames.append((_read_table(src, "patient index"), None, str(src)))
    out = []
    for df, lab, what in frames:
        ipp_c = _pick(df.columns, ("ipp", "patient", "patient_id"), None)
        nir_c = _pick(df.columns, _NIR_NAMES, None)
        if ipp_c is None or nir_c is None:
            raise AttributionError(
                f"{what}: needs an IPP column and a NIR column (got {list(df.columns)}); "
                "name them IPP and NIR"
            )
        if lab is None:
            lab_c = _pick(df.columns, _LAB_NAMES, index_lab_column)
            if lab_c is None:
                raise AttributionError(
                    f"{what}: no lab column; give the index as a mapping lab -> file or add a "
                    "LABO column"
                )
            labs = df[lab_c].astype("string").str.strip()
        else:
            labs = pd.Series(lab, index=df.index, dtype="string")
        labs = resolve_lab_series(labs, lab_alias_map(aliases))  # as the evidence's (QA 13)
        nir = _normalise_nir(df[nir_c])
        keep = nir.notna() & (nir != "") & df[ipp_c].astype("string").str.strip().ne("")
        nir_h = pseudonymise_nirs(key, nir[keep])
        patient = pseudonymise(key, labs[keep], df[ipp_c][keep].astype("string"))
        out.append(pd.DataFrame({"lab": labs[keep], "nir_h": nir_h, "patient": patient}))
    if not out:
        return pd.DataFrame({"lab": [], "nir_h": [], "patient": []}, dtype="string")
    return pd.concat(out, ignore_index=True).drop_duplicates(ignore_index=True)
