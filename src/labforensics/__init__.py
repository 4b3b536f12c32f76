"""labforensics: forensic analysis of medical-laboratory (LIS) audit logs.

The pipeline, one public function per stage (run as written by the test suite, in
a folder holding ``case.toml``, ``evidence/`` and ``leak.csv``)::

    from labforensics import (CaseContext, attribute, build_features, investigate,
                              read_evidence, score, sessionize)

    case = CaseContext.from_file("case.toml")   # the case's facts: time zone, networks ...
    ev = read_evidence("evidence/", case=case)  # ingest: events + accounting + custody
    ss = sessionize(ev.events)                  # sessions per (lab, account)
    ft = build_features(ss.events, ss.sessions, case=case)
    sc = score(ft, case=case)                   # anomaly scores with reasons
    at = attribute(ss.events, ss.sessions, sc.session, leak="leak.csv", case=case)
    res = investigate("evidence/", "report/", leak="leak.csv", case="case.toml")

Names are imported lazily so that ``import labforensics`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_API: dict[str, str] = {
    "CaseContext": "labforensics.case",
    "read_evidence": "labforensics.ingest",
    "Evidence": "labforensics.ingest",
    "sessionize": "labforensics.sessions",
    "SessionParams": "labforensics.sessions",
    "Sessions": "labforensics.sessions",
    "build_features": "labforensics.features",
    "FeatureParams": "labforensics.features",
    "score": "labforensics.detect",
    "DetectParams": "labforensics.detect",
    "score_sources": "labforensics.detect",
    "SourceParams": "labforensics.detect",
    "group_campaigns": "labforensics.detect.campaigns",
    "CampaignParams": "labforensics.detect.campaigns",
    "read_authorisations": "labforensics.authorisation",
    "assess_exports": "labforensics.authorisation",
    "evaluate": "labforensics.evaluate",
    "attribute": "labforensics.attribution",
    "AttributionParams": "labforensics.attribution",
    "Attribution": "labforensics.attribution",
    "read_leak": "labforensics.attribution",
    "read_transfers": "labforensics.transfers",
    "investigate": "labforensics.pipeline",
    "InvestigationResult": "labforensics.pipeline",
    "CaseKey": "labforensics.privacy",
    "validate_events": "labforensics.schema",
    "LabForensicsError": "labforensics.errors",
}

__all__ = sorted(_API) + ["__version__"]


def __getattr__(name: str) -> Any:
    try:
        module = _API[name]
    except KeyError:
        raise AttributeError(f"module 'labforensics' has no attribute {name!r}") from None
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return __all__
