"""File artefacts of the format doc, and the vendor FTP server's xferlog.

Each artefact is applied to one daily file and recorded in the truth with its
file and line, and the file's expected accounting is adjusted exactly as the
format doc's rules say a correct reader must count it.
"""

from __future__ import annotations

import datetime as dt
import zlib
from pathlib import Path

import numpy as np

from .._arrays import unique_sorted
from .clock import DAY, local_offset, noon_offset
from .incidents import is_change_day
from .model import MIGRATION_IMPORT_IP, Lab
from .writers import CURRENT_HEADER, LEGACY_HEADER, csv_quote, gzip_bytes

__all__ = ["KINDS", "plan_artefacts", "apply", "split_rows", "write_xferlog"]

KINDS = ("rotation", "repeated_header", "cut_line", "wrong_width", "bad_date", "gzip_cut")


def plan_artefacts(
    lab: Lab,
    file_days: np.ndarray,
    names: list[str],
    protected: np.ndarray,
    rng: np.random.Generator,
) -> dict[int, str]:
    """Choose the files that get an artefact: file index -> kind.

    No two artefacts in one file or in neighbouring files; none on clock-change
    days, on the two days around the dialect switch, or in files holding
    incident or billing/statistics events (``protected``, per file).
    """
    nf = len(file_days)
    n_each = max(1, round(nf / 365))
    ok = np.ones(nf, bool)
    ok[0] = False
    for i, d in enumerate(file_days.tolist()):
        if is_change_day(d) or abs(d - lab.migration) <= 1 or protected[i]:
            ok[i] = False
    plan: dict[int, str] = {}
    for kind in KINDS:
        cand = np.flatnonzero(ok)
        if kind == "gzip_cut":
            cand = cand[[names[i].endswith(".gz") for i in cand]] if len(cand) else cand
        if kind == "bad_date":
            dom = (
                file_days.astype("datetime64[D]")
                - file_days.astype("datetime64[D]").astype("datetime64[M]")
            ).astype(np.int64) + 1
            cand = cand[dom[cand] > 12] if len(cand) else cand
        if kind == "rotation" and len(cand):
            cand = cand[
                [(file_days[i - 1] < lab.migration) == (file_days[i] < lab.migration) for i in cand]
            ]
        for _ in range(n_each):
            cand = cand[ok[cand]] if len(cand) else cand
            if not len(cand):
                break
            i = int(cand[int(rng.integers(len(cand)))])
            plan[i] = kind
            ok[max(0, i - 1) : i + 2] = False
    return plan


def split_rows(body: bytes, nlines: np.ndarray) -> list[bytes]:
    """Split a file body into its records (a record spans ``nlines`` physical lines)."""
    parts = body.split(b"\n")[:-1]
    lines = [p + b"\n" for p in parts]
    ends = np.cumsum(nlines).tolist()
    out, start = [], 0
    for e in ends:
        out.append(b"".join(lines[start:e]))
        start = e
    return out


def _fake_row(lab: Lab, day: int, is_leg: bool, *, bad_date: bool = False, width: int = 0) -> str:
    """A plausible login row of the lab's first account, optionally broken."""
    a = lab.accounts[0]
    d = str(np.datetime64(int(day), "D"))
    y, m, dd = d[0:4], d[5:7], d[8:10]
    hms = "12:00:00"
    if is_leg:
        date = f"{m}/{dd}/{y}" if bad_date else f"{dd}/{m}/{y}"
        f = [date, hms, lab.legacy_label or lab.code, f"S{a.site}", csv_quote(a.name), a.role, csv_quote(lab.hosts.values[a.host]),
             csv_quote(lab.ips.values[a.ip]), "ADMIN", "CONNEXION", "OK", "", "", "", ""]  # fmt: skip
    else:
        off = "+02:00" if int(noon_offset(np.array([day]))[0]) == 7200 else "+01:00"
        ts = f"{y}-{dd}-{m}T{hms}{off}" if bad_date else f"{d}T{hms}{off}"
        f = [ts, lab.code, f"S{a.site}", csv_quote(a.name), a.role.lower(), csv_quote(lab.hosts.values[a.host]),
             csv_quote(lab.ips.values[a.ip]), "admin", "connexion", "succes", "", "", "", "", "A9999", ""]  # fmt: skip
    if width < 0:
        f = f[:width]
    elif width > 0:
        f = f + ["X"] * width
    return ";".join(f)


def apply(
    kind: str,
    lab: Lab,
    name: str,
    head: bytes,
    body: bytes,
    is_leg: bool,
    ln: np.ndarray,
    nlines: np.ndarray,
    prev: tuple[str, list[bytes]] | None,
    acc: dict,
    truth: list[dict],
    rng: np.random.Generator,
    day: int,
) -> tuple[bytes, np.ndarray, np.ndarray]:
    """Apply one artefact to a file; return (raw bytes, line numbers, lost mask)."""
    enc = "cp1252" if is_leg else "utf-8"
    eol = "\r\n" if is_leg else "\n"
    n = len(ln)
    lost = np.zeros(n, bool)
    ln = ln.copy()
    if kind == "rotation":
        assert prev is not None
        prev_name, prev_rows = prev
        k = int(min(rng.integers(1, 4), len(prev_rows)))
        dup = prev_rows[-k:]
        extra = sum(r.count(b"\n") for r in dup)
        ln += extra
        acc["rows_read"] += k
        acc["rotation_duplicates"] = k
        truth.append(
            {
                "kind": "rotation_overlap",
                "file": name,
                "line": 2,
                "n_rows": k,
                "from_file": prev_name,
            }
        )
        return head + b"".join(dup) + body, ln, lost
    rows = split_rows(body, nlines)
    if kind == "repeated_header":
        pos = int(rng.integers(1, len(rows))) if len(rows) > 1 else len(rows)
        hline = int(ln[pos]) if pos < n else int(2 + nlines.sum())
        ln[pos:] += 1
        hdr = ((LEGACY_HEADER if is_leg else CURRENT_HEADER) + eol).encode(enc)
        acc["rows_read"] += 1
        acc["repeated_headers"] = 1
        truth.append({"kind": "repeated_header", "file": name, "line": hline})
        return head + b"".join(rows[:pos]) + hdr + b"".join(rows[pos:]), ln, lost
    if kind in ("wrong_width", "bad_date"):
        pos = int(rng.integers(1, len(rows) + 1)) if len(rows) else 0
        hline = int(ln[pos]) if pos < n else int(2 + nlines.sum())
        ln[pos:] += 1
        width = 0
        if kind == "wrong_width":
            width = int(rng.choice([-2, -1, 1, 2]))
        row = (_fake_row(lab, day, is_leg, bad_date=kind == "bad_date", width=width) + eol).encode(
            enc
        )
        acc["rows_read"] += 1
        acc["quarantined"] += 1
        rec = {"kind": kind, "file": name, "line": hline}
        if width:
            rec["fields"] = (15 if is_leg else 16) + width
        truth.append(rec)
        return head + b"".join(rows[:pos]) + row + b"".join(rows[pos:]), ln, lost
    if kind == "cut_line":
        row = _fake_row(lab, day, is_leg)
        row = row[: row.rfind(";") + 1] + '"coup'
        hline = int(2 + nlines.sum())
        acc["rows_read"] += 1
        acc["quarantined"] += 1
        acc["truncated"] = True
        truth.append({"kind": "cut_line", "file": name, "line": hline})
        return head + body + row.encode(enc), ln, lost
    if kind == "gzip_cut":
        raw = head + body
        comp = gzip_bytes(raw)
        ends = len(head) + np.cumsum([len(r) for r in rows])
        for frac in np.linspace(0.6, 0.3, 61).tolist() + np.linspace(0.61, 0.9, 30).tolist():
            cut = int(len(comp) * frac)
            try:
                got = zlib.decompressobj(31).decompress(comp[:cut])
            except zlib.error:
                continue
            q = len(got)
            done = int(np.searchsorted(ends, q, side="right"))
            if done < 1 or done >= len(rows):
                continue
            start = int(ends[done - 1])
            if q - start < 20 or int(ends[done]) - q < 3:
                continue
            # the partial row must lack fields (as in case 004), so no reader can take it whole
            if got[start:].count(b";") >= (14 if is_leg else 15) - 1 or b'"' in got[start:]:
                continue
            # robust to a decompressor giving a few bytes less or more
            got2 = zlib.decompressobj(31).decompress(comp[: max(cut - 8, 1)])
            if int(np.searchsorted(ends, len(got2), side="right")) != done or len(got2) - start < 5:
                continue
            lost[done:] = True
            acc["rows_read"] = done + 1
            acc["events"] = done
            acc["quarantined"] = 1
            acc["truncated"] = True
            truth.append(
                {"kind": "gzip_cut", "file": name, "line": int(ln[done]), "rows_recovered": done,
                 "bytes_kept": cut, "bytes_full": len(comp)}
            )  # fmt: skip
            return comp[:cut], ln, lost
        return comp, ln, lost  # no suitable cut point: leave the file whole (not recorded)
    raise ValueError(kind)


_WD = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MON = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _ctime_local(t: int) -> str:
    """wu-ftpd xferlog time stamp (ctime style) in the simulated labs' local time (:data:`.clock.SIM_TZ`)."""
    w = int(t + local_offset(np.array([t]))[0])
    d = np.datetime64(w // DAY, "D").astype(object)
    s = w % DAY
    return f"{_WD[d.weekday()]} {_MON[d.month - 1]} {d.day:2d} {s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d} {d.year}"


def write_xferlog(
    path: Path,
    extractions: list[dict],
    requested: list[dict],
    plan: dict,
    rng: np.random.Generator,
    d0: int,
    d1: int,
) -> tuple[list[dict], list[dict]]:
    """Write ``xferlog``: each incident-(a) file uploaded by the migration account
    from the vendor network, then downloaded anonymously from outside; plus
    benign transfers: the requested reference-table extractions (uploaded, then
    fetched by the vendor's import server with the migration account), software
    updates, public documentation.

    Returns the transfers' truth, one entry per file: the incident-(a) files,
    and the requested files.
    """
    lines: list[tuple[int, str]] = []
    truth: list[dict] = []
    requested_truth: list[dict] = []

    def add(
        t: int,
        host: str,
        nbytes: int,
        fpath: str,
        direction: str,
        mode: str,
        user: str,
        status: str = "c",
    ):
        secs = max(1, nbytes // 2_000_000)
        lines.append(
            (
                t,
                f"{_ctime_local(t)} {secs} {host} {nbytes} {fpath} b _ {direction} {mode} {user} ftp 0 * {status}",
            )
        )

    outside = ["198.51.100.23", "203.0.113.77", "198.51.100.140", "203.0.113.5"]
    mails = ["anonymous", "guest@example.org", "mozilla@example.com", "anonymous"]
    for x in sorted(extractions, key=lambda r: (r["t_extract"], r["lab"])):
        t_up = int(x["t_extract"]) + int(rng.integers(30, 600))
        fpath = f"/pub/transfert/{x['file']}"
        add(t_up, "172.16.50.10", int(x["bytes"]), fpath, "i", "r", "migration.editeur")
        downs = []
        for _ in range(int(rng.integers(1, 5))):
            td = t_up + int(rng.integers(DAY, 60 * DAY))
            h = outside[int(rng.integers(len(outside)))]
            u = mails[int(rng.integers(len(mails)))]
            st = "c" if rng.random() < 0.9 else "i"
            add(
                td,
                h,
                int(x["bytes"]) if st == "c" else int(x["bytes"]) // 3,
                fpath,
                "o",
                "a",
                u,
                st,
            )
            downs.append({"time_utc": _iso(td), "host": h, "user": u, "status": st})
        truth.append(
            {"file": x["file"], "lab": x["lab"], "kind": "over_extraction", "upload_utc": _iso(t_up),
             "uploader": "migration.editeur", "upload_host": "172.16.50.10",
             "downloads": sorted(downs, key=lambda r: r["time_utc"])}
        )  # fmt: skip
    for x in sorted(requested, key=lambda r: (r["t_extract"], r["lab"])):
        t_up = int(x["t_extract"]) + int(rng.integers(30, 600))
        fpath = f"/pub/transfert/{x['file']}"
        add(t_up, "172.16.50.10", int(x["bytes"]), fpath, "i", "r", "migration.editeur")
        td = t_up + int(rng.integers(600, 6 * 3600))
        add(td, MIGRATION_IMPORT_IP, int(x["bytes"]), fpath, "o", "r", "migration.editeur")
        requested_truth.append(
            {"file": x["file"], "lab": x["lab"], "kind": "requested", "upload_utc": _iso(t_up),
             "uploader": "migration.editeur", "upload_host": "172.16.50.10",
             "downloads": [{"time_utc": _iso(td), "host": MIGRATION_IMPORT_IP,
                            "user": "migration.editeur", "status": "c"}]}
        )  # fmt: skip
    # benign: monthly software update uploaded by the hotline, fetched by labs; public docs
    month_starts = unique_sorted(
        np.arange(d0, d1 + 1).astype("datetime64[D]").astype("datetime64[M]")
    )
    for i, m in enumerate(month_starts.tolist()):
        day = int(np.datetime64(m, "M").astype("datetime64[D]").astype(np.int64)) + 4
        t = day * DAY + 14 * 3600 + int(rng.integers(0, 3600))
        f = f"/pub/mises_a_jour/LIS_5.{i // 12}.{i % 12}.zip"
        size = int(rng.integers(20_000_000, 80_000_000))
        add(t, "172.16.10.11", size, f, "i", "r", "hotline.editeur")
        for lp in plan["labs"][: 3 + int(rng.integers(0, 5))]:
            t_dl = t + int(rng.integers(1, 6)) * DAY + int(rng.integers(-5 * 3600, 3 * 3600))
            add(t_dl, f"192.0.2.{lp['k'] % 250}", size, f, "o", "r",
                f"{lp['code'].lower()}.admin")  # fmt: skip
        add(t + int(rng.integers(3600, 9 * DAY)), outside[i % len(outside)], 482_113,
            "/pub/doc/notice_installation.pdf", "o", "a", "anonymous")  # fmt: skip
    lines.sort(key=lambda r: (r[0], r[1]))
    path.write_bytes("".join(s + "\n" for _, s in lines).encode("ascii"))
    return truth, requested_truth


def _iso(t: int) -> str:
    return dt.datetime.fromtimestamp(int(t), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
