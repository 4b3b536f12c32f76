"""``sources.csv``'s addresses: canonical ``src_ip`` (the form matched) and the forms as
logged beside it where they differ (``src_ip_as_logged``; session 17's ``left17`` left
the address canonical only)."""

from __future__ import annotations

import pandas as pd

from labforensics.detect import score_sources
from labforensics.detect.sources import SOURCE_COLUMNS
from labforensics.report.as_logged import sources_as_logged

from .conftest import make_events

T0 = pd.Timestamp("2020-03-02 02:00", tz="UTC")


def _events(raw: bool) -> pd.DataFrame:
    """Six failures on root from 203.0.113.5, three logged as ``::ffff:203.0.113.5``
    (an IPv4-mapped IPv6 address), then a success from the plain form; one success from
    10.0.0.1. With ``raw``: the table an ingest gives (``src_ip`` canonical, the form as
    written in ``src_ip_raw``); without: the forms as given in ``src_ip``."""
    rows = []
    for i in range(6):
        written = "::ffff:203.0.113.5" if i % 2 else "203.0.113.5"
        rows.append({"ts": T0 + pd.Timedelta(minutes=i), "account": "root",
                     "action": "login_failed", "outcome": "failure",
                     "src_ip": "203.0.113.5" if raw else written,
                     **({"src_ip_raw": written} if raw else {})})  # fmt: skip
    rows.append({"ts": T0 + pd.Timedelta(minutes=10), "account": "root", "action": "login",
                 "src_ip": "203.0.113.5"})  # fmt: skip
    rows.append({"ts": T0 + pd.Timedelta(hours=6), "account": "bio.b", "action": "login",
                 "src_ip": "10.0.0.1"})  # fmt: skip
    return make_events(rows)


def test_the_address_as_logged_is_beside_its_canonical_form():
    for raw in (False, True):
        table = score_sources(_events(raw))
        assert list(table.columns) == list(SOURCE_COLUMNS)
        src = table.set_index("src_ip")
        assert SOURCE_COLUMNS.index("src_ip_as_logged") == SOURCE_COLUMNS.index("src_ip") + 1
        # one source, its two spellings sorted ("2" before ":"), " | "-joined
        assert src.loc["203.0.113.5", "src_ip_as_logged"] == "203.0.113.5 | ::ffff:203.0.113.5"
        assert src.loc["203.0.113.5", "failed_logins"] == 6
        assert src.loc["203.0.113.5", "failures_before_success"] == 6
        # logged in its canonical form alone: ""
        assert src.loc["10.0.0.1", "src_ip_as_logged"] == ""


def test_only_the_mapped_form_logged_is_shown_alone():
    ev = _events(True)
    ev = ev[ev["account"] == "root"].copy()
    ev["src_ip_raw"] = "::ffff:203.0.113.5"
    src = score_sources(ev)
    assert src[["src_ip", "src_ip_as_logged"]].values.tolist() == [
        ["203.0.113.5", "::ffff:203.0.113.5"]
    ]


def test_findings_rows_keep_the_key_only_where_it_differs():
    rows = score_sources(_events(True)).to_dict("records")
    shown = {r["src_ip"]: r for r in sources_as_logged(rows)}
    assert shown["203.0.113.5"]["src_ip_as_logged"] == "203.0.113.5 | ::ffff:203.0.113.5"
    assert "src_ip_as_logged" not in shown["10.0.0.1"]
