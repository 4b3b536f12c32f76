"""Every likelihood ratio printed is rounded the one way, half-even, as findings.json
holds it (QA session 9, item 5): the HTML showed L02 16.2 (json 16.269), L03 167
(167.98), L05 log10 2.29 (2.2977)."""

from __future__ import annotations

import math

from labforensics.attribution.likelihood import cut_log10
from labforensics.report.lr_words import log10_text, lr_text, lr_view


def test_the_qa_values_rounded():
    per_lab = [{"lab": "L02", "log10_lr": math.log10(16.269)},
               {"lab": "L03", "log10_lr": math.log10(167.98)},
               {"lab": "L05", "log10_lr": 2.2977}]  # fmt: skip
    view = lr_view({"conclusion": {"log10_lr": 2.2977}, "per_lab": per_lab})
    assert view["labs"]["L02"] == {"lr": "16.3", "log10": "1.21"}
    assert view["labs"]["L03"] == {"lr": "168", "log10": "2.23"}
    assert view["labs"]["L05"] == {"lr": "198", "log10": "2.30"}  # 10**2.2977 = 198.47
    assert view["case"] == view["labs"]["L05"]


def test_half_even_and_one_function_everywhere():
    assert log10_text(0.125) == "0.12" and log10_text(0.135) == "0.14"  # ties to even
    assert log10_text(-0.3) == "-0.30" and lr_text(math.log10(0.5)) == "0.500"
    assert lr_text(math.log10(2712.3)) == "2,710"
    # the per-lab reasons of the attribution (findings.json, the report) print alike
    for x in (2.2977, 1.99741, 0.218, 3.0, -1.2345):
        assert cut_log10(x) == log10_text(x)
