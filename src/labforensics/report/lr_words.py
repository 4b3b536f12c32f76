"""Likelihood ratios in words for the first screen: rounded figures (never across a
verbal band), the weakest lab, and the ratio over each other logged proposition.

:func:`lr_text` and :func:`log10_text` are the one way a likelihood ratio is printed:
the report (HTML, and the PDF printed from it), the findings' sentences and the
command's summary (QA session 9: the HTML cut 16.269 to "16.2").
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from typing import Any

from ..attribution.labels import proposition_who
from ..attribution.likelihood import log10_text, lr_text, ratio_of
from ..attribution.likelihood import verbal as _verbal

__all__ = ["log10_text", "lr_text", "lr_view"]


def lr_view(f: Mapping[str, Any]) -> dict[str, Any]:
    """The likelihood ratios as the report prints them (:func:`lr_text`,
    :func:`log10_text`): ``case`` and ``labs`` (lab -> ``{"lr", "log10"}``) and
    ``sensitivity`` (``[low, high]`` log10 texts) when present."""

    def one(x: Any) -> dict[str, str] | None:
        return {"lr": lr_text(x), "log10": log10_text(x)} if isinstance(x, int | float) else None

    c = f.get("conclusion") if isinstance(f.get("conclusion"), Mapping) else {}
    sens = (c.get("sensitivity") or {}) if isinstance(c.get("sensitivity"), Mapping) else {}
    rng = sens.get("log10_lr_range")
    return {
        "case": one(c.get("log10_lr")),
        "labs": {
            str(p.get("lab")): one(p.get("log10_lr"))
            for p in f.get("per_lab") or []
            if isinstance(p, Mapping)
        },  # fmt: skip
        "sensitivity": [log10_text(rng[0]), log10_text(rng[1])] if rng else None,
    }


#: Who each logged proposition names, for the line of the alternatives (the one table's
#: :func:`labforensics.attribution.labels.proposition_who`).
ALTERNATIVE_WHO = {code: proposition_who(code) for code in ("vendor", "insider", "external")}


def _weighed(f: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [p for p in (f.get("per_lab") or []) if isinstance(p, Mapping)
            and isinstance(p.get("log10_lr"), int | float)]  # fmt: skip


def _weakest(f: Mapping[str, Any], c: Mapping[str, Any]) -> str:
    """Whose strength the case's is (the weakest lab weighed), and the labs' own bands."""
    labs = _weighed(f)
    if len(labs) < 2:
        return ""
    low = min(labs, key=lambda p: (float(p["log10_lr"]), str(p.get("lab"))))
    lr = float(c.get("log10_lr") or 0.0)
    if lr + 1e-9 >= float(low["log10_lr"]):
        head = (f"; this is the weakest of the {len(labs)} labs weighed ({low.get('lab')}): "
                "the case holds only if every lab's copy is explained")  # fmt: skip
    else:
        head = (f"; below the weakest of the {len(labs)} labs weighed ({low.get('lab')}, "
                f"{low.get('verbal')}): capped for the part of the leak the logs do not "
                "cover")  # fmt: skip
    best: dict[str, float] = {}
    for p in labs:
        v = str(p.get("verbal") or _verbal(ratio_of(p["log10_lr"])))
        best[v] = max(best.get(v, -math.inf), float(p["log10_lr"]))
    n = Counter(str(p.get("verbal") or _verbal(ratio_of(p["log10_lr"]))) for p in labs)
    bands = ", ".join(f"{n[v]} {v}" for v in sorted(best, key=lambda v: -best[v]))
    return f"{head}; the labs alone: {bands}"


def _alternatives(f: Mapping[str, Any], c: Mapping[str, Any]) -> str:
    """How strongly the findings favour the case's proposition over each other logged
    proposition (staff, outside intruder, vendor): the weakest across the labs weighed."""
    prop = str(c.get("proposition"))
    if prop not in ALTERNATIVE_WHO:
        return ""
    labs = [p for p in _weighed(f) if str(p.get("proposition")) == prop]
    if not labs:
        return ""
    parts = []
    for alt, who in ALTERNATIVE_WHO.items():
        if alt == prop:
            continue
        vals = [(float(a["log10_lr"]), str(p.get("lab")),
                 float(a.get("log10_lr_uncapped", a["log10_lr"])))
                for p in labs
                for a in (p.get("alternatives") or []) if isinstance(a, Mapping)
                and a.get("proposition") == alt and isinstance(a.get("log10_lr"), int | float)]  # fmt: skip
        if not vals:
            parts.append(f"over {who}: no logged operation of theirs is weighed at any lab")
            continue
        x, lab, raw = min(vals)
        # a value held at the method's ceiling (dependence, coverage: Limits) is a floor of
        # what the evidence gives, not a measurement: say so (third reader, session 6)
        # held: the value is the ceiling, not known to be more (QA session 14: "10,000 or
        # more"); "or more" only of a measured weakest lab, the others' ratios higher
        is_held = raw > x + 1e-9
        held = f"; held at the ceiling of {lr_text(x)}, see Limits" if is_held else ""
        more = " or more" if len(vals) > 1 and not is_held else ""
        where = (f"the weakest of the {len(vals)} labs where they had a logged operation, "
                 f"{lab}" if len(vals) > 1 else f"at {lab}, the one lab where they had a "
                 "logged operation")  # fmt: skip
        parts.append(f"over {who} by a likelihood ratio of {lr_text(x)}{more} "
                     f"({_verbal(10.0**x)}; {where}{held})")  # fmt: skip
    return (". The findings favour it " + "; ".join(parts)) if parts else ""
