"""Progress per lab (issue 16 item 6): the sessions stage runs one lab at a time with a
bar that moves per lab and estimates the time left; the result is the whole-table one."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import labforensics as lf
from labforensics.per_lab import sessionize_by_lab
from labforensics.progress import lab_progress, on_lab
from labforensics.sessions import SessionParams, sessionize

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "damaged-files"


@pytest.fixture(scope="module")
def events():
    case = lf.CaseContext.from_file(FIXTURE / "case.toml")
    return lf.read_evidence([str(FIXTURE / "evidence")], case=case, case_key=b"\x01" * 32,
                            progress=False).events  # fmt: skip


def test_per_lab_equals_whole_table(events):
    # a session is one account at one lab: per lab gives the same rows, order and dtypes
    assert events["lab"].nunique() == 2
    whole = sessionize(events, SessionParams())
    per_lab = sessionize_by_lab(events, SessionParams(), progress=False)
    pd.testing.assert_frame_equal(per_lab.sessions, whole.sessions)
    pd.testing.assert_frame_equal(per_lab.events, whole.events)
    # rows in another order (not evidence order): still the same result
    shuffled = sessionize_by_lab(events.sample(frac=1.0, random_state=0), SessionParams(), False)
    pd.testing.assert_frame_equal(shuffled.sessions, whole.sessions)
    pd.testing.assert_frame_equal(shuffled.events, whole.events)


def test_bar_moves_per_lab_with_time_left(events, capsys):
    # one step per lab, in lab order, with (done, total); tqdm's line counts labs and
    # shows "elapsed<left"
    seen = []
    with on_lab(lambda *a: seen.append(a)):
        sessionize_by_lab(events, SessionParams(), progress=True)
    assert seen == [("sessions", "L01", 1, 2), ("sessions", "L02", 2, 2)]
    err = capsys.readouterr().err
    assert "sessions per lab" in err and "2/2" in err
    assert "lab/s" in err or "s/lab" in err  # tqdm's rate, in labs
    last = err.replace("\r", "\n").strip().splitlines()[-1]
    assert "<" in last  # tqdm's time left


def test_hook_without_bar():
    # the hook is called even when no bar is shown (progress=False, a quiet run)
    seen = []
    with on_lab(lambda *a: seen.append(a)), lab_progress("x", ["A", "B", "C"], False) as step:
        for lab in ("A", "B", "C"):
            step(lab)
    assert [s[1:] for s in seen] == [("A", 1, 3), ("B", 2, 3), ("C", 3, 3)]


def test_investigate_moves_per_lab(tmp_path):
    # the whole command: the sessions stage reports each of the fixture's two labs
    seen = []
    case = lf.CaseContext.from_file(FIXTURE / "case.toml")
    with on_lab(lambda *a: seen.append(a)):
        lf.investigate(None, tmp_path / "out", case=case, progress=False)
    assert [(s[0], s[1]) for s in seen] == [("sessions", "L01"), ("sessions", "L02")]
