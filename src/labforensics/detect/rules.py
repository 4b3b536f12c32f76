"""Declarative detection rules, read from TOML.

A rule file holds ``[[rule]]`` tables::

    [[rule]]
    id = "mass_extraction"              # unique, [a-z0-9_]
    unit = "session"                    # session | account_day | account_month
    description = "extraction of as many records as half of the lab's patients"
    weight = 10.0                       # added to the score when the rule fires
    reason = "extraction of {records_extracted:,.0f} records, against {lab_patients:,.0f} patients"
    all = [                             # every condition holds ...
      { feature = "records_extracted", op = ">", value = 0 },
      { feature = "records_out_share_lab", op = ">=", value = 0.5 },
    ]
    any = [ ... ]                       # ... and at least one of these (optional)
    rationale = "why this pattern is suspicious, and where each threshold comes from"
    references = ["a standard, a paper, a regulator's finding", "..."]
    known_false_positives = ["routine work that also fires it", "..."]

``feature`` names a feature column (or a key column such as ``account_kind``);
``op`` is one of ``>``, ``>=``, ``<``, ``<=``, ``==``, ``!=``; ``value`` is a
number, a string or a boolean; a string ``"$NAME"`` names a shared threshold of
:data:`labforensics.thresholds.NAMED` (``"$FAILED_LOGIN_BURST"``). A missing feature
value never satisfies a condition. Nothing is evaluated as code: the file is data, checked against this
whitelist. ``reason`` is a template whose fields are feature or key columns,
plus ``start_local`` (``HH:MM`` local start time) and the phrases of
:data:`DERIVED_FIELDS` (``earlier_exports``: "its earlier exports or extractions in
these logs held at most 20 records", or "no earlier export or extraction in these
logs", from ``records_out_before_max``); format specs are allowed, attribute and index
access are not.

``rationale`` (a non-empty string), ``references`` and ``known_false_positives``
(non-empty strings, or non-empty lists of non-empty strings) are required: a rule
without them is refused with an error naming it, so that every rule states why it
exists, where its thresholds come from and what it is known to flag wrongly.

A rule whose features a table lacks (a hand-made table, say) is not applied,
and the reason is recorded.
"""

from __future__ import annotations

import operator
import re
import string
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from .._plural import counted
from ..errors import ParameterError
from ..thresholds import NAMED

__all__ = [
    "DERIVED_FIELDS",
    "Condition",
    "Rule",
    "apply_rules",
    "default_rules_path",
    "load_rules",
]

UNITS = ("session", "account_day", "account_month")
OPS = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}
_ID = re.compile(r"^[a-z][a-z0-9_]*$")


def _earlier_exports(v: object) -> str:
    """The phrase of ``earlier_exports`` for ``records_out_before_max`` = ``v``."""
    if not isinstance(v, int | float | np.number) or isinstance(v, bool) or not np.isfinite(v):
        return "?"
    if v > 0:
        return f"its earlier exports or extractions in these logs held at most {v:,.0f} records"
    return "no earlier export or extraction in these logs"


def _window_days(v: object) -> str:
    """The explanation window of ``explain_window_days`` = ``v`` in words ("1 day", "30 days":
    fresh-eyes QA, session 22, read "within 1 days")."""
    if not isinstance(v, int | float | np.number) or isinstance(v, bool) or not np.isfinite(v):
        return "? days"
    return counted(f"{v:.0f}", "day")


#: Reason fields that are phrases made from a feature column: name -> (column, phrase of
#: its value). A rule using one reads the column (a table without it skips the rule).
DERIVED_FIELDS = {
    "earlier_exports": ("records_out_before_max", _earlier_exports),
    "explain_window": ("explain_window_days", _window_days),
}


@dataclass(frozen=True)
class Condition:
    """``feature op value``."""

    feature: str
    op: str
    value: float | str | bool


@dataclass(frozen=True)
class Rule:
    """One declarative rule (see the module doc for the file format).

    ``rationale`` (the documentation strings joined), ``references`` and
    ``known_false_positives`` are kept as read, for reports and reviews.
    """

    id: str
    unit: str
    description: str
    weight: float
    all: tuple[Condition, ...]
    any: tuple[Condition, ...]
    reason: str
    rationale: str = ""
    references: tuple[str, ...] = ()
    known_false_positives: tuple[str, ...] = ()

    def features(self) -> set[str]:
        """Columns the rule reads."""
        fields = {DERIVED_FIELDS[f][0] if f in DERIVED_FIELDS else f
                  for f in _template_fields(self.reason)}  # fmt: skip
        return {c.feature for c in (*self.all, *self.any)} | fields


def default_rules_path() -> Path:
    """Path of the rules shipped with the package (``detect/rules.toml``)."""
    return Path(str(resources.files("labforensics.detect").joinpath("rules.toml")))


def _template_fields(tpl: str) -> set[str]:
    out = set()
    for _, fld, _, _ in string.Formatter().parse(tpl):
        if fld is not None and fld != "start_local":
            out.add(fld)
    return out


def _condition(d: object, where: str) -> Condition:
    if not isinstance(d, dict) or set(d) != {"feature", "op", "value"}:
        raise ParameterError(
            f"{where}: a condition is {{ feature = ..., op = ..., value = ... }}, got {d!r}"
        )
    if d["op"] not in OPS:
        raise ParameterError(f"{where}: op {d['op']!r} is not one of {sorted(OPS)}")
    if not isinstance(d["feature"], str) or not d["feature"]:
        raise ParameterError(f"{where}: feature must be a column name, got {d['feature']!r}")
    if not isinstance(d["value"], int | float | str | bool):
        raise ParameterError(f"{where}: value must be a number, string or boolean")
    value = d["value"]
    if isinstance(value, str) and value.startswith("$"):  # a shared threshold, by name
        if value[1:] not in NAMED:
            raise ParameterError(
                f"{where}: value {value!r} names no shared threshold; known: "
                f"{['$' + k for k in sorted(NAMED)]} (labforensics.thresholds)"
            )
        value = NAMED[value[1:]]
    return Condition(d["feature"], d["op"], value)


#: Keys every rule must document itself with (see the module doc).
DOC_KEYS: tuple[str, ...] = ("rationale", "references", "known_false_positives")


def _doc(r: dict, key: str, where: str) -> tuple[str, ...]:
    """A required documentation key: a non-empty string or list of non-empty strings."""
    if key not in r:
        raise ParameterError(
            f"{where}: no {key!r}; every rule states {', '.join(DOC_KEYS)} "
            "(why it fires, the sources of its thresholds, what it flags wrongly)"
        )
    v = r[key]
    items = [v] if isinstance(v, str) else v
    if (
        not isinstance(items, list)
        or not items
        or not all(isinstance(x, str) and x.strip() for x in items)
    ):
        raise ParameterError(f"{where}: {key!r} must be a non-empty string or list of strings")
    return tuple(items)


def load_rules(path: str | Path | None = None) -> list[Rule]:
    """Read and check a rule file.

    Parameters
    ----------
    path : str or Path, optional
        TOML file; default :func:`default_rules_path`.

    Returns
    -------
    list[Rule]
        In file order.

    Raises
    ------
    ParameterError
        On unreadable TOML, an unknown key, op or unit, a duplicate id, a rule
        without conditions, a rule without ``rationale``, ``references`` or
        ``known_false_positives``, or a template using attribute/index access; the
        message names the file and the rule.
    """
    p = Path(path) if path is not None else default_rules_path()
    try:
        with open(p, "rb") as f:
            doc = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ParameterError(f"rule file {p}: cannot be read as TOML: {exc}") from exc
    extra = set(doc) - {"rule"}
    if extra:
        raise ParameterError(f"rule file {p}: unknown top-level keys {sorted(extra)}; use [[rule]]")
    rules, seen = [], set()
    allowed = {"id", "unit", "description", "weight", "all", "any", "reason", *DOC_KEYS}
    for i, r in enumerate(doc.get("rule", []), 1):
        where = f"rule file {p}, rule #{i} ({r.get('id', '?')})"
        bad = set(r) - allowed
        if bad:
            raise ParameterError(f"{where}: unknown keys {sorted(bad)}; allowed {sorted(allowed)}")
        rid = r.get("id")
        if not isinstance(rid, str) or not _ID.match(rid):
            raise ParameterError(f"{where}: id must match [a-z][a-z0-9_]*")
        if rid in seen:
            raise ParameterError(f"{where}: duplicate id {rid!r}")
        seen.add(rid)
        if r.get("unit") not in UNITS:
            raise ParameterError(f"{where}: unit must be one of {UNITS}")
        w = r.get("weight", 1.0)
        if not isinstance(w, int | float) or isinstance(w, bool) or not np.isfinite(w) or w < 0:
            raise ParameterError(f"{where}: weight must be a number >= 0")
        conds_all = tuple(_condition(c, where) for c in r.get("all", []))
        conds_any = tuple(_condition(c, where) for c in r.get("any", []))
        if not conds_all and not conds_any:
            raise ParameterError(
                f"{where}: give at least one condition in all = [...] or any = [...]"
            )
        reason = str(r.get("reason", r.get("description", rid)))
        for fld in _template_fields(reason):
            if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", fld):
                raise ParameterError(f"{where}: reason field {{{fld}}} must be a plain column name")
        rationale, refs, fps = (_doc(r, k, where) for k in DOC_KEYS)
        rules.append(
            Rule(
                rid,
                r["unit"],
                str(r.get("description", rid)),
                float(w),
                conds_all,
                conds_any,
                reason,
                " ".join(rationale),
                refs,
                fps,
            )
        )
    return rules


def _eval(frame: pd.DataFrame, c: Condition) -> np.ndarray:
    col = frame[c.feature]
    if isinstance(c.value, str):
        s = col.astype("string")
        res = OPS[c.op](s, c.value)
    else:
        s = pd.to_numeric(col, errors="coerce").astype("float64")
        res = OPS[c.op](s, float(c.value))
    return np.asarray(pd.Series(res).fillna(False).astype(bool))


def apply_rules(
    frame: pd.DataFrame, rules: list[Rule], unit: str
) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Evaluate the rules of ``unit`` on a feature frame (keys and values).

    Parameters
    ----------
    frame : pandas.DataFrame
        ``(n_rows, ...)`` keys and feature columns.
    rules : list[Rule]
    unit : str

    Returns
    -------
    (fired, skipped) : tuple
        ``fired``: rule id -> ``(n_rows,)`` bool; ``skipped``: rule id -> reason.
    """
    fired: dict[str, np.ndarray] = {}
    skipped: dict[str, str] = {}
    n = len(frame)
    for r in rules:
        if r.unit != unit:
            continue
        missing = sorted(r.features() - set(frame.columns))
        if missing:
            skipped[r.id] = f"not applied: the table lacks {missing}"
            continue
        ok = np.ones(n, dtype=bool)
        for c in r.all:
            ok &= _eval(frame, c)
        if r.any:
            anyok = np.zeros(n, dtype=bool)
            for c in r.any:
                anyok |= _eval(frame, c)
            ok &= anyok
        fired[r.id] = ok
    return fired, skipped


def render_reason(rule: Rule, row: dict[str, object]) -> str:
    """Fill the rule's reason template from one row (missing fields -> ``?``)."""
    ctx = {}
    capped = []
    for f in _template_fields(rule.reason) | {"start_local"}:
        if f in DERIVED_FIELDS:
            src, phrase = DERIVED_FIELDS[f]
            ctx[f] = phrase(row.get(src))
            continue
        v = row.get(f)
        ctx[f] = v if v is not None and not (isinstance(v, float) and np.isnan(v)) else "?"
        if f.startswith("share") and isinstance(ctx[f], float | int) and ctx[f] > 1:
            capped.append(f"{100 * ctx[f]:,.0f} %")  # a share of records over patients seen so far
            ctx[f] = 1.0
    try:
        text = rule.reason.format(**ctx)
    except (ValueError, TypeError):
        return rule.description
    if capped:  # issue 16: never "116 % of the patients", the reason shown instead
        text += (f" (capped at 100 %: {', '.join(capped)} by count, more records than "
                 "patients seen so far)")  # fmt: skip
    return text
