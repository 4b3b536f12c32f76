"""Helpers of the authorisation tests: hand-made events, registers, indexes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from labforensics.schema import coerce_events

TZ = "Europe/Paris"
HEADER = (
    "ticket;lab;account;kind;start;end;scope_patients_since;scope_max_records;destination;purpose"
)


def loc(text: str) -> pd.Timestamp:
    """A Europe/Paris local time as a UTC instant."""
    return pd.Timestamp(text).tz_localize(TZ).tz_convert("UTC")


def make_events(rows: list[dict]) -> pd.DataFrame:
    """Canonical events from short dicts (``t``: local time text)."""
    base = {
        "ts_quality": "exact",
        "lab": "L07",
        "site": "S1",
        "account": "tech.a",
        "role": "TECHNICIEN",
        "account_kind": "staff",
        "host": "PC-1",
        "src_ip": "10.0.0.1",
        "module": "RESULTATS",
        "action": "read",
        "outcome": "success",
        "source_format": "test",
        "source_file": "f.csv",
    }
    out = []
    for i, r in enumerate(rows):
        d = {**base, **r}
        d["ts"] = loc(d.pop("t"))
        d.setdefault("seq", i)
        d.setdefault("source_line", i + 1)
        out.append(d)
    df = pd.DataFrame(out).sort_values(["ts", "seq"], kind="stable").reset_index(drop=True)
    df["seq"] = range(len(df))
    return coerce_events(df)


def write_register(tmp: Path, lines: list[str], name: str = "register.csv") -> Path:
    p = tmp / name
    p.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    return p


def index_frame(rows: list[tuple[str, str, str | None]]) -> pd.DataFrame:
    """(lab, pseudonym, created local date or None) -> the index's people columns used."""
    created = [
        pd.Timestamp(c).tz_localize(TZ).tz_convert("UTC") if c else pd.NaT for _, _, c in rows
    ]
    return pd.DataFrame(
        {
            "lab": pd.Series([r[0] for r in rows], dtype="string"),
            "record_id": pd.Series([r[1] for r in rows], dtype="string"),
            "created": pd.Series(created, dtype="datetime64[ns, UTC]"),
        }
    )
