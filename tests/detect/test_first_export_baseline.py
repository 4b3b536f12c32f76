"""A first export reaches the detectors through its volume (qa17 c08, shared case 008 b).

14 daily sessions of ``robot.x`` (role ``interface``, a service account), one of them
1 s longer, the last one exporting 5,000 records after 13 days with none: the
baselines compared an export only with exports (own, peers), found none, left
``records_out_z`` missing, and the detectors read 0 ("constant (0 in every row)"):
the export ranked 11 of 14 with "no deviation", under four weekend sessions. The
account's own sessions of every activity are now the last baseline
(``records_out_z_own_all``): median 0 records, MAD 0, q75 0, so the scale is the
records' minimum scale, 10, and z = (5000 - 0) / 10 = 500.

The ensemble alone did not flag it on 14 rows (5.31 < 6, session 17); a rule now does
(det18): the interface account by ``job_volume_far_above_own`` (a service account
judged against its own sessions: z 500 >= 6), the technician copy by
``staff_bulk_export_short_logs`` (its only export of 500 or more, in the warm-up).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from labforensics import build_features, read_evidence, score, sessionize

HEADER = (
    "horodatage;code_labo;code_site;login;profil;poste;adresse_ip;module;action;statut;"
    "ipp;num_demande;nb_lignes;volume_octets;id_session;commentaire"
)


def _row(ts: str, role: str, module: str, action: str, lines: str = "") -> str:
    return f"{ts};L01;S1;robot.x;{role};SRV-1;10.1.0.2;{module};{action};succes;;;{lines};;;"


def _write(folder: Path, role: str, days: dict[int, tuple[str, str, int]], end: dict) -> Path:
    """One session a day, 08:00-08:10 (+01:00) of March 2024, with ``days[d]`` =
    (module, action, lines) at 08:05; ``end[d]`` overrides the logout time."""
    rows = []
    for d, (module, action, lines) in days.items():
        day = f"2024-03-{d:02d}"
        rows.append(_row(f"{day}T08:00:00+01:00", role, "interface", "connexion"))
        rows.append(_row(f"{day}T08:05:00+01:00", role, module, action, str(lines)))
        stop = end.get(d, "08:10:00")
        rows.append(_row(f"{day}T{stop}+01:00", role, "interface", "deconnexion"))
    folder.mkdir()
    text = HEADER + "\n" + "\n".join(rows) + "\n"
    (folder / "audit_l01_2024-03-14.csv").write_text(text, encoding="utf-8-sig")
    return folder


def _run(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    ev = read_evidence(folder)
    ss = sessionize(ev.events)
    ft = build_features(ss.events, ss.sessions)
    sc = score(ft)
    feats = pd.concat([ft.session.keys, ft.session.values], axis=1)
    feats["day"] = pd.to_datetime(feats["start"], utc=True).dt.day
    scored = sc.session.copy()
    scored["day"] = pd.to_datetime(scored["start"], utc=True).dt.day
    return feats.set_index("day"), scored.set_index("day"), sc.metadata["units"]["session"]


def _qa_case(tmp_path: Path, role: str) -> Path:
    # /tmp/qa17-c08/mk.py: 13 transmissions of 1 line, day 13 ends 1 s later,
    # day 14 exports 5,000 records (module "resultats" in the technicien copy)
    days = {d: ("interface", "transmission", 1) for d in range(1, 14)}
    days[14] = ("resultats" if role == "technicien" else "interface", "export", 5000)
    return _write(tmp_path / "ev", role, days, {13: "08:10:01"})


@pytest.mark.parametrize("role", ["interface", "technicien"])
def test_first_export_of_a_daily_account_ranks_first(tmp_path, role):
    feats, scored, meta = _run(_qa_case(tmp_path, role))
    exp = feats.loc[14]
    # no export by the account before, none by a colleague: no baseline of exports
    assert pd.isna(exp["records_out_z_own"]) and pd.isna(exp["records_out_z_peer_lab"])
    assert pd.isna(exp["records_out_z_peer_role"])
    # the account's 14 sessions of every activity: (5000 - 0) / max(0, 0, 10) = 500
    assert exp["records_out_z_own_all"] == 500.0
    assert exp["records_out_z"] == 500.0 and exp["records_out_ref"] == 0.0
    # an ordinary day keeps its own (same-activity) baseline: 0
    assert feats.loc[5, "records_out_z"] == 0.0 and feats.loc[5, "records_out_z_own"] == 0.0
    # the volume reaches the detectors: the column is no longer dropped as constant
    assert "records_out_z" in meta["columns"]
    assert "records_out_z" not in meta["dropped_columns"]
    # the export ranks first (the 4 weekend days, 2, 3, 9, 10 March, come after it),
    # with a reason naming the volume
    assert scored.loc[14, "rank"] == 1
    assert any("5,000 records" in r and "median of its baseline is 0" in r
               for r in scored.loc[14, "reasons"])  # fmt: skip
    assert scored.loc[14, "score"] > scored.drop(index=14)["score"].max()
    # the 1-second-longer day is not in the top 2
    assert scored.loc[13, "rank"] > 2
    # flagged by one rule (det18), not by lowering the ensemble's threshold
    rule = {"interface": "job_volume_far_above_own",
            "technicien": "staff_bulk_export_short_logs"}[role]  # fmt: skip
    assert scored.loc[14, f"rule_{rule}"] == 6.0 and scored.loc[14, "rules_score"] == 6.0
    assert bool(scored.loc[14, "flagged"]) and int(scored["flagged"].sum()) == 1
    if role == "interface":
        assert scored.loc[14, "reasons"][0] == (
            "5,000 records exported or extracted by this recurring job or service account, "
            "500 robust SD above its own sessions (their median: 0 records)"
        )


def test_regular_nightly_export_job_is_not_flagged(tmp_path):
    # the same 200-record export every day for 14 days: its own exports are its baseline
    days = {d: ("interface", "export", 200) for d in range(1, 15)}
    feats, scored, meta = _run(_write(tmp_path / "ev", "interface", days, {}))
    assert (feats["regular_job"] == 1).all()
    assert (feats["records_out_z"] == 0).all()  # (200 - 200) / 10
    assert not scored["flagged"].any()
    assert (scored["rules_score"] == 0).all()
    assert meta["dropped_columns"]["records_out_z"].startswith("constant")


def test_one_off_volume_of_a_regular_job_is_not_absorbed(tmp_path):
    # the same job, but the last day exports 5,000: its own 14 exports, median 200,
    # MAD 0, q75 200 (fewer than 20 values): scale 10, z = (5000 - 200) / 10 = 480
    days = {d: ("interface", "export", 200) for d in range(1, 14)}
    days[14] = ("interface", "export", 5000)
    feats, scored, _ = _run(_write(tmp_path / "ev", "interface", days, {}))
    # still a session of the recurring job (same hour, same action set) ...
    assert feats.loc[14, "regular_job"] == 1
    # ... but its volume is measured against the job's own exports
    assert feats.loc[14, "records_out_z_own"] == 480.0
    assert feats.loc[14, "records_out_z"] == 480.0
    assert scored.loc[14, "rank"] == 1
    assert any("5,000 records" in r for r in scored.loc[14, "reasons"])
    # and a rule judges it against the job's own runs (det18): z 480 >= 6
    assert scored.loc[14, "rule_job_volume_far_above_own"] == 6.0
    assert bool(scored.loc[14, "flagged"])
