"""The case file and the authorisation register a variant writes, and the true status of its operations.

:func:`write_register` writes ``authorisations.csv`` in the layout of
``shared/formats/authorisations.md`` (``;``, UTF-8, header
:data:`REGISTER_HEADER`); :func:`write_case_file` writes ``case.toml`` from the
world the generator built (the labs' networks, FINESS aliases, the vendor and
service accounts), never from the truth; :func:`register_status` decides, for
the ground truth only, each export's and extraction's status under the
format's matching rules, from facts the generator knows (the operation's
patients in scope, its destination).
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import json
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from .clock import SIM_TZ

__all__ = [
    "REGISTER_HEADER",
    "RegisterRow",
    "Operation",
    "destination_of",
    "register_status",
    "write_case_file",
    "write_register",
]

#: Header of the register (``shared/formats/authorisations.md``, "Layout").
REGISTER_HEADER = (
    "ticket;lab;account;kind;start;end;scope_patients_since;scope_max_records;destination;purpose"
)
_KINDS = ("migration", "support", "billing", "backup", "interface", "other")
_DEST = re.compile(r"([A-Za-z0-9_.\-]+\.(?:csv|xlsx|xls|dmp|txt|zip))\b", re.IGNORECASE)


@dataclass(frozen=True)
class RegisterRow:
    """One authorisation (one line of the register); dates are local ``yyyy-mm-dd`` days."""

    ticket: str
    lab: str
    account: str
    kind: str
    start: str
    end: str = ""
    scope_patients_since: str = ""
    scope_max_records: int | None = None
    destination: str = ""
    purpose: str = ""

    def line(self) -> str:
        """The row as written (``;``-separated; no field holds ``;`` or a quote)."""
        vals = [
            self.ticket, self.lab, self.account, self.kind, self.start, self.end,
            self.scope_patients_since,
            "" if self.scope_max_records is None else str(self.scope_max_records),
            self.destination, self.purpose,
        ]  # fmt: skip
        assert self.kind in _KINDS and not any(";" in v or '"' in v for v in vals)
        return ";".join(vals)


@dataclass(frozen=True)
class Operation:
    """One export or extraction as the truth sees it.

    ``eligible`` is the number of the operation's patients in the scope of a
    row with ``scope_patients_since`` (the generator knows them), or None when
    its record unit is not the patient (then the scope cannot be judged).
    """

    lab: str
    finess: str
    account: str
    ts: int  # UTC seconds
    records: int
    destination: str  # output base name, "" when the event does not say
    patient_unit: bool
    eligible: dict[str, int] | None = None  # scope date -> patients in scope among its records


def destination_of(detail: str) -> str:
    """The output file's base name named in an event's detail text (last match), or ""."""
    m = _DEST.findall(detail or "")
    return m[-1] if m else ""


def _norm(s: str) -> str:
    return unicodedata.normalize("NFC", s).casefold()


def _local_day(ts: int) -> dt.date:
    return dt.datetime.fromtimestamp(ts, tz=ZoneInfo(SIM_TZ)).date()


def register_status(ops: list[Operation], rows: list[RegisterRow]) -> list[dict]:
    """Status of each operation under the register's rules (truth only).

    Parameters
    ----------
    ops : list of Operation
        In time order (record limits are also summed over each ticket's window).
    rows : list of RegisterRow

    Returns
    -------
    list of dict
        Per operation: ``status`` (``authorised``, ``beyond``, ``unregistered``,
        ``undetermined``), ``ticket`` (the authorising row, else the nearest
        one: fewest limits crossed), ``limits_crossed`` (``window``,
        ``records``, ``records_sum``, ``destination``, ``scope``),
        ``records_over`` (records beyond ``scope_max_records``) and
        ``out_of_scope`` (records minus the patients in scope) when crossed.
    """
    used: dict[str, int] = {}
    out = []
    for op in ops:
        cand = [
            r
            for r in rows
            if r.lab in ("*", op.lab, op.finess)
            and fnmatch.fnmatchcase(_norm(op.account), _norm(r.account))
        ]
        if not cand:
            out.append({"status": "unregistered", "ticket": None, "limits_crossed": []})
            continue
        day = _local_day(op.ts)
        judged = []
        for r in cand:
            crossed: dict[str, int | None] = {}
            undet = False
            if day < dt.date.fromisoformat(r.start) or (
                r.end and day > dt.date.fromisoformat(r.end)
            ):
                crossed["window"] = None
            if r.scope_max_records is not None:
                if op.records > r.scope_max_records:
                    crossed["records"] = op.records - r.scope_max_records
                elif used.get(r.ticket, 0) + op.records > r.scope_max_records:
                    crossed["records_sum"] = (
                        used.get(r.ticket, 0) + op.records - r.scope_max_records
                    )
            if r.destination:
                if not op.destination:
                    undet = True
                elif not fnmatch.fnmatchcase(op.destination.lower(), r.destination.lower()):
                    crossed["destination"] = None
            if r.scope_patients_since:
                if not op.patient_unit or op.eligible is None:
                    undet = True
                else:
                    inside = op.eligible[r.scope_patients_since]
                    if op.records > inside:
                        crossed["scope"] = op.records - inside
            judged.append((len(crossed), undet, r, crossed))
        ok = [j for j in judged if j[0] == 0 and not j[1]]
        if ok:
            r = ok[0][2]
            used[r.ticket] = used.get(r.ticket, 0) + op.records
            out.append({"status": "authorised", "ticket": r.ticket, "limits_crossed": []})
            continue
        und = [j for j in judged if j[0] == 0]
        if und:
            out.append({"status": "undetermined", "ticket": und[0][2].ticket, "limits_crossed": []})
            continue
        n, _, r, crossed = min(judged, key=lambda j: j[0])
        rec = {"status": "beyond", "ticket": r.ticket, "limits_crossed": sorted(crossed)}
        if "records" in crossed or "records_sum" in crossed:
            rec["records_over"] = crossed.get("records", crossed.get("records_sum"))
        if "scope" in crossed:
            rec["out_of_scope"] = crossed["scope"]
        out.append(rec)
    return out


def write_register(path: Path, rows: list[RegisterRow]) -> Path:
    """Write ``authorisations.csv`` (header, one row per authorisation, ``\\n`` line ends)."""
    body = REGISTER_HEADER + "\n" + "".join(r.line() + "\n" for r in rows)
    path.write_bytes(body.encode("utf-8"))
    return path


def _q(x: str) -> str:
    """A TOML basic string (JSON escaping is valid TOML for these texts)."""
    return json.dumps(x, ensure_ascii=False)


def _toml_list(xs: list[str]) -> str:
    return "[" + ", ".join(_q(x) for x in xs) + "]"


def write_case_file(
    path: Path,
    *,
    name: str,
    seed: int,
    labs: list[dict],
    vendor_accounts: list[str],
    service_accounts: list[str],
    networks: bool,
    transfers: bool,
    register: str | None = "authorisations.csv",
) -> Path:
    """Write ``case.toml`` from the world built (see :mod:`labforensics.case`).

    Parameters
    ----------
    labs : list of dict
        ``truth["labs"]`` entries as the generator built them (``code``,
        ``finess``, ``networks``); only their identity and networks are read.
    vendor_accounts, service_accounts : list of str
        Accounts of the vendor (role EDITEUR) and the service accounts (role
        INTERFACE) the labs hold.
    networks : bool
        Write ``[networks]`` (each lab's block and the vendor's); False for the
        ``no_networks`` variant.
    register : str or None
        The ``[authorisations] register`` path (relative to the case file).
    """
    lines = [
        "# Case file written by labforensics.synth from the world it generated",
        "[case]",
        f"name = {_q(name)}",
        f'tz = "{SIM_TZ}"',
        f"seed = {seed}",
        "",
        "[evidence]",
        'paths = ["evidence"]',
    ]
    if transfers:
        lines.append('transfers = "transfers/xferlog"')
    lines.append("")
    if networks:
        vendor = sorted({lab["networks"]["vendor"] for lab in labs})
        lines += ["[networks]", f"vendor = {_toml_list(vendor)}", "[networks.by_lab]"]
        lines += [f"{_q(lab['code'])} = {_toml_list([lab['networks']['lab']])}" for lab in labs]
        lines.append("")
    lines += [
        "[accounts]",
        f"vendor = {_toml_list(sorted(set(vendor_accounts)))}",
        f"service = {_toml_list(sorted(set(service_accounts)))}",
        "",
    ]
    for lab in labs:
        lines += ["[[labs]]", f"code = {_q(lab['code'])}", f"finess = {_q(lab['finess'])}", ""]
    if register:
        lines += ["[authorisations]", f"register = {_q(register)}", ""]
    path.write_bytes("\n".join(lines).encode("utf-8"))
    return path
