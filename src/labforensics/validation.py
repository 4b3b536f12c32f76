"""The validation file (issue 15, item 7): the method's error rates measured on
synthetic evidence, written by ``benchmarks/`` and shipped with the package.

``labforensics/data/validation.json`` holds one *section* per measurement, each with
its values and what they were measured on::

    {
      "format_version": 1,
      "sections": {
        "detection": {
          "measured_on": "synthetic evidence (labforensics.synth variants)",
          "values": {...}, "variants": [...], "seeds": [...], "size": "...",
          "package_version": "0.1.0", "date": "2026-12-05T18:30:00Z",
          "command": "python benchmarks/detection.py --variants all ..."
        },
        "attribution_calibration": {...}
      }
    }

``benchmarks/detection.py --write-validation PATH`` writes ``detection``
(:func:`detection_values`: campaign AP, recall in the top 20 and 50 campaigns,
session AP, benign sessions in the top 50, flagged campaigns per 10 lab-months, per
variant and overall, configuration "combination"); ``benchmarks/attribution.py
--calibration --write-validation PATH`` writes ``attribution_calibration`` (the rate
of misleading evidence per way and setting). The report's "Limits of this analysis"
and ``findings.json`` ``limits`` cite them (:func:`limits_lines`) with the file's
SHA-256: the file is an input of the analysis, so findings stay byte-identical across
runs (the date of the investigation is never in them).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from . import __version__

#: Version of the file's layout (bumped when a key changes meaning).
FORMAT_VERSION = 1

#: The shipped file, relative to the package.
PACKAGE_FILE = "data/validation.json"


def _package_path() -> Path:
    return Path(str(resources.files("labforensics").joinpath(PACKAGE_FILE)))


def load_validation(path: str | os.PathLike[str] | None = None) -> dict[str, Any] | None:
    """The validation file as a dict (None when it does not exist).

    Parameters
    ----------
    path : path, optional
        Default: the file the package ships (:data:`PACKAGE_FILE`).

    Returns
    -------
    dict or None
        ``format_version`` and ``sections`` (see the module docstring).
    """
    p = Path(path) if path is not None else _package_path()
    if not p.is_file():
        return None
    with p.open("rb") as f:
        return json.loads(f.read().decode("utf-8"))


def validation_digest(path: str | os.PathLike[str] | None = None) -> str | None:
    """SHA-256 (hex) of the validation file's bytes, None when it does not exist."""
    p = Path(path) if path is not None else _package_path()
    if not p.is_file():
        return None
    with p.open("rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def write_section(
    path: str | os.PathLike[str],
    name: str,
    values: Mapping[str, Any],
    *,
    command: str,
    size: str,
    seeds: Sequence[int] | None = None,
    variants: Sequence[str] | None = None,
    measured_on: str = "synthetic evidence (labforensics.synth)",
    date: str | None = None,
) -> Path:
    """Write (or replace) one section of a validation file, keeping the others.

    Parameters
    ----------
    path : path
        The file (created with its folder when absent).
    name : str
        The section (``detection``, ``attribution_calibration``).
    values : mapping
        The figures (JSON-serialisable).
    command : str
        The command line that measured them (no key material).
    size : str
        What was generated (labs, period, scale).
    seeds, variants : sequence, optional
        The generator's seeds and variants (or ways).
    measured_on : str
        The evidence measured on, cited as such by :func:`limits_lines`.
    date : str, optional
        ISO 8601 UTC instant of the measurement; default now.

    Returns
    -------
    Path
        ``path``. The JSON is written sorted, indented, UTF-8, with a final newline
        (the same content gives the same bytes).
    """
    p = Path(path)
    data = load_validation(p) if p.is_file() else None
    data = data or {}
    sections = dict(data.get("sections") or {})
    sections[name] = {
        **(
            {"note": "small-size run (a first measurement): regenerate at full size"}
            if str(size).startswith("small")
            else {}
        ),
        "values": values,
        "seeds": list(seeds) if seeds is not None else None,
        "variants": list(variants) if variants is not None else None,
        "size": size,
        "measured_on": measured_on,
        "package_version": __version__,
        "date": date or dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": command,
    }
    out = {"format_version": FORMAT_VERSION, "sections": sections}
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(out, indent=1, sort_keys=True, allow_nan=False) + "\n", "utf-8")
    return p


def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if f != f else f  # NaN -> None


def detection_values(table: Any) -> dict[str, Any]:
    """The detection section's values from ``benchmarks/detection.py --variants``' table.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per (variant, seed, configuration, incident kind): ``variant``,
        ``seed``, ``config``, ``kind`` (``all`` for the variant's overall row, ``-``
        for a variant without incidents), ``n_incidents``, ``sess_AP``, ``camp_AP``,
        ``camp_recall@20``, ``camp_recall@50``, ``benign_top50``,
        ``flagged_per_10_lab_months``.

    Returns
    -------
    dict
        ``configuration`` ("combination"), ``per_variant`` (variant -> means over
        the seeds) and ``overall``: ``campaign_ap_mean``/``_min``, ``recall_top20_mean``/
        ``_min``, ``recall_top50_mean`` over the variants with incidents,
        ``benign_top50_total``, ``flagged_per_10_lab_months_clean`` (None without
        ``clean``), ``variants_with_incidents``, ``incidents`` (summed over seeds).
    """
    t = table[(table["config"] == "combination") & table["kind"].isin(["all", "-"])]
    cols = {"camp_AP": "campaign_ap", "camp_recall@20": "recall_top20",
            "camp_recall@50": "recall_top50", "sess_AP": "session_ap",
            "benign_top50": "benign_top50",
            "flagged_per_10_lab_months": "flagged_per_10_lab_months"}  # fmt: skip
    per: dict[str, dict[str, Any]] = {}
    for v, g in t.groupby("variant", sort=True):
        row: dict[str, Any] = {}
        for c, k in cols.items():
            vals = [x for x in (_num(y) for y in g[c]) if x is not None] if c in g else []
            row[k] = round(sum(vals) / len(vals), 4) if vals else None
        n = [_num(y) for y in g["n_incidents"]] if "n_incidents" in g else []
        row["incidents"] = int(sum(x for x in n if x is not None))
        per[str(v)] = row
    inc = {v: r for v, r in per.items() if r["campaign_ap"] is not None}

    def agg(key: str, f: Any) -> float | None:
        vals = [r[key] for r in inc.values() if r[key] is not None]
        return round(f(vals), 4) if vals else None

    overall = {
        "campaign_ap_mean": agg("campaign_ap", lambda v: sum(v) / len(v)),
        "campaign_ap_min": agg("campaign_ap", min),
        "recall_top20_mean": agg("recall_top20", lambda v: sum(v) / len(v)),
        "recall_top20_min": agg("recall_top20", min),
        "recall_top50_mean": agg("recall_top50", lambda v: sum(v) / len(v)),
        "benign_top50_total": int(
            sum(_num(x) or 0 for x in t["benign_top50"]) if "benign_top50" in t else 0
        ),
        "flagged_per_10_lab_months_clean": (per.get("clean") or {}).get(
            "flagged_per_10_lab_months"
        ),
        "variants_with_incidents": sorted(inc),
        "incidents": int(sum(r["incidents"] for r in per.values())),
    }
    return {"configuration": "combination", "per_variant": per, "overall": overall}


def _seeds_text(seeds: Sequence[int] | None) -> str:
    if not seeds:
        return "n/a"
    s = sorted(int(x) for x in seeds)
    if len(s) > 3 and s == list(range(s[0], s[-1] + 1)):
        return f"{s[0]}-{s[-1]}"
    return " ".join(str(x) for x in s)


def _pct(x: Any) -> str:
    f = _num(x)
    return "n/a" if f is None else f"{100 * f:.1f} %"


def _fmt(x: Any) -> str:
    f = _num(x)
    return "n/a" if f is None else f"{f:.2f}"


def _n(x: Any) -> str:
    """A count with comma thousands separators (1200 -> "1,200"); "n/a" when missing."""
    f = _num(x)
    return "n/a" if f is None else f"{int(round(f)):,}"


def limits_lines(data: Mapping[str, Any] | None = None, digest: str | None = None) -> list[str]:
    """The "Limits of this analysis" lines citing the validation file.

    Parameters
    ----------
    data : mapping, optional
        The file's content; default: the shipped file (:func:`load_validation`).
    digest : str, optional
        Its SHA-256; default: the shipped file's (:func:`validation_digest`).

    Returns
    -------
    list of str
        One line per section (detection, then the calibration), each stating that
        the figures were measured on synthetic evidence, on which variants or ways,
        seeds and size, with the file, its format version and SHA-256; one line
        saying the file is missing when there is none.
    """
    if data is None:
        data, digest = load_validation(), validation_digest()
    if not data:
        return ["no validation file: the method's error rates are not cited"]
    src = (
        f"validation file labforensics/{PACKAGE_FILE} (format {data.get('format_version')}"
        + (f", SHA-256 {digest}" if digest else "")
        + ")"
    )
    secs = data.get("sections") or {}
    out = []
    d = secs.get("detection")
    if d:
        o = (d.get("values") or {}).get("overall") or {}
        out.append(
            f"detection measured on {d.get('measured_on')}, not on real cases: campaign AP "
            f"{_fmt(o.get('campaign_ap_mean'))} (lowest {_fmt(o.get('campaign_ap_min'))}), "
            f"recall in the top 20 campaigns {_fmt(o.get('recall_top20_mean'))} (lowest "
            f"{_fmt(o.get('recall_top20_min'))}) over {len(o.get('variants_with_incidents') or [])} "
            f"variants with incidents; benign sessions in the top 50: "
            f"{_n(o.get('benign_top50_total'))}; on variants {', '.join(d.get('variants') or [])}; "
            f"seeds {_seeds_text(d.get('seeds'))}; size {d.get('size')}; package "
            f"{d.get('package_version')}; {src}"
        )
    c = secs.get("attribution_calibration")
    if c:
        v = c.get("values") or {}
        o = v.get("overall") or {}
        out.append(
            f"likelihood ratios calibrated on {c.get('measured_on')}, not on real cases: "
            f"misleading evidence (LR > 1 for a false proposition) "
            f"{_n(o.get('misleading'))} of {_n(o.get('false_propositions'))} false propositions "
            f"({_pct(o.get('rate_misleading'))}); the true proposition below LR 1 "
            f"{_n(o.get('true_below_1'))} of {_n(o.get('true_propositions'))}; over "
            f"{_n(v.get('cases'))} cases ({_n(v.get('cases_failed'))} failed) of the ways "
            f"{', '.join(c.get('variants') or [])}; seeds {_seeds_text(c.get('seeds'))}; "
            f"size {c.get('size')}; package {c.get('package_version')}; {src}"
        )
    return out


__all__ = [
    "FORMAT_VERSION",
    "PACKAGE_FILE",
    "detection_values",
    "limits_lines",
    "load_validation",
    "validation_digest",
    "write_section",
]
