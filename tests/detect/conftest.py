"""Builders of small hand-made event tables for the detection tests."""

from __future__ import annotations

import pandas as pd
import pytest

from labforensics.schema import ROLE_ACCOUNT_KIND, coerce_events


def make_events(rows: list[dict]) -> pd.DataFrame:
    """Canonical events from dicts; ``ts`` in UTC, defaults filled for the rest.

    Each dict needs ``ts``, ``account``, ``action``; ``lab`` defaults to ``L01``,
    ``role`` to ``BIOLOGISTE`` (kind from the role), ``outcome`` to ``success``.
    """
    out = []
    for i, r in enumerate(rows):
        role = r.get("role", "BIOLOGISTE")
        d = {
            "ts_quality": "exact",
            "lab": "L01",
            "role": role,
            "account_kind": ROLE_ACCOUNT_KIND.get(role, "unknown"),
            "host": "PC-01",
            "src_ip": "10.0.0.1",
            "module": "RESULTATS",
            "outcome": "success",
            "source_format": "test",
            "source_file": "test.csv",
            "source_line": i + 2,
        }
        d.update(r)
        d["ts"] = (
            pd.Timestamp(d["ts"], tz="UTC")
            if pd.Timestamp(d["ts"]).tzinfo is None
            else pd.Timestamp(d["ts"])
        )
        out.append(d)
    return coerce_events(pd.DataFrame(out))


def login_session(account: str, role: str, t: pd.Timestamp, body: list[dict]) -> list[dict]:
    """Rows of one session: login at ``t``, the ``body`` rows one minute apart (each a
    dict of event columns), logout at ``t`` + 10 minutes (for :func:`make_events`)."""
    rows = [dict(ts=t, account=account, role=role, action="login")]
    for k, r in enumerate(body, 1):
        rows.append(dict(ts=t + pd.Timedelta(minutes=k), account=account, role=role, **r))
    rows.append(dict(ts=t + pd.Timedelta(minutes=10), account=account, role=role, action="logout"))
    return rows


@pytest.fixture
def events_of():
    return make_events
