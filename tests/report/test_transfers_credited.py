"""Section 5 of the report lists each transfer once, with the export it is credited to
(``attribution/linking.credit_transfers``); findings.json keeps every link."""

from __future__ import annotations

import pandas as pd
from test_html import _findings_and_data

from labforensics.attribution.linking import credit_transfers
from labforensics.report import render_report


def test_the_report_lists_each_transfer_once_with_the_export_it_is_credited_to():
    t0 = pd.Timestamp("2020-07-01", tz="UTC")
    h = pd.Timedelta(hours=1)
    # one anonymous download (xferlog line 14, hour 191) linked by name to a staff export
    # (hour 0) and a nightly backup (hour 100): credited to the backup, the later write
    lk = pd.DataFrame({
        "session_id": ["b1", "staff"], "lab": "L02",
        "account": ["backup.nightly", "anna.staff"],
        "extraction_ts": [t0 + 100 * h, t0], "file_base": "patients_L02.csv",
        "transfer_ts": t0 + 191 * h, "direction": "download", "remote_host": "203.0.113.99",
        "completion": "c", "anonymous": True, "outside": False, "external_fetch": True,
        "source_file": "xferlog", "source_line": 14,
    })  # fmt: skip
    lk["credited"] = credit_transfers(lk)
    assert lk["credited"].tolist() == [True, False]
    _, data = _findings_and_data()
    data.findings["transfers"] = lk.astype(object).to_dict("records")
    html = render_report(data)
    assert "backup.nightly" in html and "anna.staff" not in html  # one row: the backup's
    assert ("A transfer whose file name several exports wrote is listed once, with the "
            "export it is counted for") in html  # fmt: skip
