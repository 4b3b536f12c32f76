"""Compact hand-built multi-lab evidence with known answers, for the attribution tests.

Model (every lab alike, all times UTC):

- Evidence starts at ``T0``. ``N_OLD`` patients registered before logging are
  first seen in the first 3 days (censored by the default ``censor_days=7``).
- From day 4 on, ``PER_DAY`` new patients a day are first seen by the lab's
  reception account at evenly spaced instants (one ``read`` event each).
- ``N_RETURN`` further old patients come back late (first seen on day 55): they
  existed before any copy, so a full copy holds them although they are first
  seen after it (the late-audit noise the window must tolerate).
- Every lab has a routine billing export of ``ROUTINE`` records each day at
  17:00 (a staff account, lab network): never big enough to hold a leak; and a
  nightly backup at 01:00 (service account ``batch.nuit``, 127.0.0.1) exporting
  every existing patient: big enough to hold any leak, but routine.
- Scenario sessions (vendor extraction, staff export, attacker export) are
  added by :func:`export_session`; :func:`build` returns events and sessions
  through the real :func:`labforensics.sessionize`.

IPPs are ``str(100000 + i)`` in every lab, so the same IPP exists in several
labs (IPPs are unique per lab only).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from labforensics.privacy import CaseKey, pseudonymise
from labforensics.schema import coerce_events
from labforensics.sessions import sessionize

KEY = CaseKey(bytes(range(32)))
T0 = pd.Timestamp("2020-01-01", tz="UTC")
N_OLD = 40
N_RETURN = 5
PER_DAY = 12
DAYS = 60
ROUTINE = 15
LABS = ("L01", "L02", "L03", "L04")
LAB_NET = {lab: f"10.{i + 1}.0.0/16" for i, lab in enumerate(LABS)}
VENDOR_NET = "203.0.113.0/24"
VENDOR_IP = "203.0.113.10"
OUTSIDE_IP = "198.51.100.7"


def lab_ip(lab: str, host: int = 20) -> str:
    return f"10.{LABS.index(lab) + 1}.0.{host}"


def patients(lab: str) -> pd.DataFrame:
    """The lab's patients: ``ipp`` (raw, only inside tests), ``first_seen``, ``kind``."""
    old_t = T0 + pd.to_timedelta(np.linspace(0, 3 * 86400, N_OLD, endpoint=False), unit="s")
    n_new = PER_DAY * (DAYS - 4)
    new_t = (
        T0
        + pd.Timedelta(days=4)
        + pd.to_timedelta(np.arange(n_new) * (86400 / PER_DAY) + 600, unit="s")
    )
    ret_t = T0 + pd.Timedelta(days=55) + pd.to_timedelta(np.arange(N_RETURN) * 3600, unit="s")
    ts = list(old_t) + list(new_t) + list(ret_t)
    kind = ["old"] * N_OLD + ["new"] * n_new + ["return"] * N_RETURN
    ipp = [str(100000 + i) for i in range(len(ts))]
    return pd.DataFrame({"ipp": ipp, "first_seen": pd.to_datetime(ts, utc=True), "kind": kind})


def existing_at(lab: str, t: pd.Timestamp) -> pd.DataFrame:
    """Patients that existed in the LIS at ``t`` (old and returning ones always did)."""
    p = patients(lab)
    return p[(p["kind"] != "new") | (p["first_seen"] <= t)]


@dataclass
class Case:
    rows: list[dict] = field(default_factory=list)

    def add(self, **kw: object) -> None:
        self.rows.append(kw)


def _ev(
    ts: pd.Timestamp,
    lab: str,
    account: str,
    role: str,
    kind: str,
    ip: str,
    module: str,
    action: str,
    **extra: object,
) -> dict:
    return {
        "ts": ts,
        "ts_quality": "exact",
        "lab": lab,
        "site": lab + "-S1",
        "account": account,
        "role": role,
        "account_kind": kind,
        "host": f"PC-{account}",
        "src_ip": ip,
        "module": module,
        "action": action,
        "action_raw": action.upper(),
        "outcome": extra.pop("outcome", "success"),
        "source_format": "test",
        **extra,
    }


def base_case(labs: tuple[str, ...] = LABS) -> Case:
    """Reception reads (first-seen times), billing exports and nightly backups at each lab."""
    c = Case()
    for lab in labs:
        p = patients(lab)
        for d in range(1, DAYS):
            t = T0 + pd.Timedelta(days=d, hours=1)
            n = len(existing_at(lab, t))
            for k, (act, extra) in enumerate(
                [
                    ("login", {}),
                    (
                        "export",
                        {"records": n, "detail": f"Sauvegarde nocturne vers /backup/{lab}_{d}.dmp"},
                    ),
                    ("logout", {}),
                ]
            ):
                c.add(
                    **_ev(
                        t + pd.Timedelta(minutes=10 * k),
                        lab,
                        "batch.nuit",
                        "INTERFACE",
                        "service",
                        "127.0.0.1",
                        "ADMIN",
                        act,
                        **extra,
                    )
                )
        for ipp, t in zip(p["ipp"], p["first_seen"], strict=True):
            c.add(
                **_ev(
                    t,
                    lab,
                    f"sec.{lab}",
                    "SECRETAIRE",
                    "staff",
                    lab_ip(lab, 5),
                    "RECEPTION",
                    "read",
                    ipp=ipp,
                )
            )
        for d in range(5, DAYS):
            t = T0 + pd.Timedelta(days=d, hours=17)
            acc = f"compta.{lab}"
            c.add(**_ev(t, lab, acc, "ADMIN_LABO", "staff", lab_ip(lab, 9), "FACTURATION", "login"))
            c.add(
                **_ev(
                    t + pd.Timedelta(minutes=2),
                    lab,
                    acc,
                    "ADMIN_LABO",
                    "staff",
                    lab_ip(lab, 9),
                    "FACTURATION",
                    "export",
                    records=ROUTINE,
                    detail=f"Export facturation vers C:/compta/{lab}_{d}.csv",
                )
            )
            c.add(
                **_ev(
                    t + pd.Timedelta(minutes=4),
                    lab,
                    acc,
                    "ADMIN_LABO",
                    "staff",
                    lab_ip(lab, 9),
                    "FACTURATION",
                    "logout",
                )
            )
    return c


def export_session(
    c: Case,
    lab: str,
    t: pd.Timestamp,
    account: str,
    role: str,
    kind: str,
    ip: str,
    module: str,
    records: int,
    *,
    action: str = "export",
    failed_before: int = 0,
    detail: str = "",
    read_ipps: list[str] | None = None,
) -> None:
    """A login, optional patient reads, one export/extraction, a logout (failures before)."""
    for i in range(failed_before):
        c.add(
            **_ev(
                t - pd.Timedelta(minutes=10) + pd.Timedelta(seconds=20 * i),
                lab,
                account,
                role,
                kind,
                ip,
                module,
                "login_failed",
                outcome="failure",
            )
        )
    c.add(**_ev(t, lab, account, role, kind, ip, module, "login"))
    for j, ipp in enumerate(read_ipps or []):
        c.add(
            **_ev(
                t + pd.Timedelta(seconds=1 + j),
                lab,
                account,
                role,
                kind,
                ip,
                module,
                "read",
                ipp=ipp,
            )
        )
    c.add(
        **_ev(
            t + pd.Timedelta(minutes=5),
            lab,
            account,
            role,
            kind,
            ip,
            module,
            action,
            records=records,
            detail=detail,
        )
    )
    c.add(**_ev(t + pd.Timedelta(minutes=8), lab, account, role, kind, ip, module, "logout"))


def build(c: Case, *, drop_event_session_id: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Events (pseudonymised, canonical dtypes, with provenance) and sessions."""
    df = pd.DataFrame(c.rows)
    df = df.sort_values("ts", kind="stable").reset_index(drop=True)
    df["patient"] = pseudonymise(KEY, df["lab"], df["ipp"])
    df = df.drop(columns="ipp")
    df["source_file"] = "audit_" + df["lab"] + ".csv"
    df["source_line"] = df.groupby("lab").cumcount() + 2
    ev = coerce_events(df)
    s = sessionize(ev)
    events = s.events
    if drop_event_session_id:
        events = events.drop(columns="session_id")
    return events, s.sessions


def leak_frame(parts: list[tuple[str, list[str]]], with_lab: bool = True) -> pd.DataFrame:
    """A leak file's content: raw IPPs (and their lab)."""
    rows = [(lab, ipp) for lab, ipps in parts for ipp in ipps]
    df = pd.DataFrame(rows, columns=["LABO", "IPP"])
    return df if with_lab else df[["IPP"]]


def vendor_case(labs: tuple[str, ...] = ("L01", "L02", "L03"), day: int = 40):
    """The migration account extracts each lab's whole base, 3 h apart; returns truth times."""
    c = base_case()
    truth = {}
    for i, lab in enumerate(labs):
        t = T0 + pd.Timedelta(days=day, hours=9 + 3 * i)
        n = len(existing_at(lab, t))
        export_session(
            c,
            lab,
            t,
            "migr.editeur",
            "EDITEUR",
            "vendor",
            VENDOR_IP,
            "EXTRACTION",
            3 * n,
            action="extract",
            detail=f"Extraction complete vers ftp://transfert/{lab}_export.csv",
        )
        truth[lab] = t + pd.Timedelta(minutes=5)
    return c, truth


def vendor_leak(truth: dict[str, pd.Timestamp]) -> pd.DataFrame:
    return leak_frame([(lab, existing_at(lab, t)["ipp"].tolist()) for lab, t in truth.items()])


def sample_before(lab: str, t: pd.Timestamp, n: int, seed: int) -> list[str]:
    """``n`` patients of ``lab`` first seen before ``t`` (not censored ones), seeded."""
    p = patients(lab)
    p = p[(p["kind"] == "new") & (p["first_seen"] <= t)]
    rng = np.random.default_rng(seed)
    return sorted(rng.choice(p["ipp"].to_numpy(), size=n, replace=False).tolist())
