"""The first screen of a leak no lab's logs or index hold (QA session 14, item 1): it
read "How sure: Copied by a means the logs do not record"; now "Undetermined" with the
reason, and no "0 of the 0 leaked patients (n/a)" when nothing was linked."""

from __future__ import annotations

from labforensics.attribution.tie import UNTIED
from labforensics.report.html import make_formatter
from labforensics.report.summary import summary_view

WHEN = make_formatter("Europe/Paris")


def _how(patients: int) -> str:
    f = {"leak": {"given": True, "patients": patients, "found": 0},
         "conclusion": {"proposition": "undetermined", "leading": None, "log10_lr": None,
                        "reason": UNTIED, "coverage": {"total": patients}}}  # fmt: skip
    return {r["question"]: r["answer"] for r in summary_view(f, WHEN)["rows"]}["How sure"]


def test_strangers_read_undetermined():
    how = _how(200)
    assert how.startswith("Undetermined: no leaked patient is a patient seen in the evidence")
    assert "the leak cannot be tied to these labs" in how
    # 0 / 200 = 0.0 %
    assert how.endswith("; 0 of the 200 leaked patients (0.0 %) are found in the logs, the "
                        "others are named by no event of the logs.")  # fmt: skip
    assert "means the logs do not record" not in how


def test_nothing_linked_says_no_empty_count():
    assert "0 of the 0" not in _how(0) and "n/a" not in _how(0)
