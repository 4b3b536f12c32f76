"""Progress per lab (issue 16 item 6): the per-lab engine's passes (sessions, features,
detection) each move a bar per lab that estimates the time left."""

from __future__ import annotations

from pathlib import Path

import labforensics as lf
from labforensics.progress import lab_progress, on_lab

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "damaged-files"


def test_bar_moves_per_lab_with_time_left(tmp_path, capsys):
    # one step per lab, in lab order, with (done, total); tqdm's line counts labs and
    # shows "elapsed<left"
    seen = []
    case = lf.CaseContext.from_file(FIXTURE / "case.toml")
    with on_lab(lambda *a: seen.append(a)):
        lf.investigate(None, tmp_path / "out", case=case, progress=True)
    assert [s for s in seen if s[0] == "sessions"] == [
        ("sessions", "L01", 1, 2),
        ("sessions", "L02", 2, 2),
    ]
    err = capsys.readouterr().err
    assert "sessions per lab" in err and "2/2" in err
    assert "lab/s" in err or "s/lab" in err  # tqdm's rate, in labs
    bar = [
        x for x in err.replace("\r", "\n").splitlines() if "sessions per lab" in x and "2/2" in x
    ]
    assert bar and "<" in bar[-1]  # tqdm's time left


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
    # the per-lab engine's three passes: sessions, features (peer baselines applied),
    # detection (the fitted models applied), each lab after the other
    assert [(s[0], s[1]) for s in seen] == [
        (stage, lab) for stage in ("sessions", "features", "detection") for lab in ("L01", "L02")
    ]
