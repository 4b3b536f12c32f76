"""report.pdf's narrow columns break names at their dots and underscores, not inside a
part that fits (second reader: "migration.e diteur", "hypothesi s"), measured in
headless Chromium's print emulation at the A4 content width on the copy that
:func:`labforensics.report.pdf.write_pdf` prints (every <details> open).

Skips with a message when Debian's chromium / chromium-driver are missing.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

import labforensics as lf
from labforensics.report.pdf import print_copy

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from test_browser import A4_CONTENT_PX, _driver

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "damaged-files" / "case.toml"

#: In every table cell, each part of a word (up to and with its dot, underscore or
#: slash) drawn on more than one line although it is no wider than the cell's content.
SPLIT_PARTS = """
const bad = [];
document.querySelectorAll('table.data td, table.data th').forEach(cell => {
  const cs = getComputedStyle(cell);
  const room = cell.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
  const walk = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
  let node;
  while ((node = walk.nextNode())) {
    const text = node.textContent, re = /[\\p{L}\\p{N}]+[._\\/-]?/gu;
    let m;
    while ((m = re.exec(text))) {
      if (m[0].length < 3) continue;
      const r = document.createRange();
      r.setStart(node, m.index); r.setEnd(node, m.index + m[0].length);
      const rects = Array.from(r.getClientRects()).filter(x => x.width > 0);
      const width = rects.reduce((a, x) => a + x.width, 0);
      if (rects.length > 1 && width <= room - 1) bad.push(m[0] + ' (' + Math.round(room) + ' px)');
    }
  }
});
return bad;
"""


def _split_parts(html_path: Path) -> list[str]:
    drv, profile = _driver()
    try:
        drv.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": A4_CONTENT_PX, "height": 1100, "deviceScaleFactor": 1, "mobile": False})  # fmt: skip
        drv.get(html_path.as_uri())
        drv.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
        return drv.execute_script(SPLIT_PARTS)
    finally:
        drv.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def printed(tmp_path_factory):
    base = tmp_path_factory.mktemp("breaks")
    res = lf.investigate(None, base / "out", case=FIXTURE, progress=False)
    copy = base / "print.html"
    copy.write_text(print_copy(res.report.read_text(encoding="utf-8")), encoding="utf-8")
    return copy


def test_no_part_of_a_name_split_when_it_fits(printed):
    # a part of a word that fits its cell is never cut across two lines (names break at
    # their dots and underscores, words between them)
    assert _split_parts(printed) == []
