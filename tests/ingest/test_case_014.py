"""Case 014: a FHIR patient named only by a logical reference (type + identifier)."""

from __future__ import annotations

import json

from labforensics.ingest import read_evidence
from labforensics.schema import validate_events


def test_case_014_fhir_logical_patient_reference(case_dir):
    # case "014-fhir-logical-patient-reference": what.type "Patient" + identifier 004711 (line 1),
    # literal Patient/004711 (line 2), what.type = the canonical URL of Patient + 004712 (line 3)
    case = case_dir("014-fhir-logical-patient-reference")
    expected = json.loads((case / "expected.json").read_text(encoding="utf-8"))
    evd = read_evidence(case / "audit_r5.ndjson", lab="L01", case_key="00" * 16)
    ev = validate_events(evd.events)
    evd.report.check()
    got = dict(zip(ev["source_line"].astype(str), ev["patient"], strict=True))
    assert got == expected["patient_values_with_key_00x16"]  # the pseudonyms expected.json gives
    assert ev["patient"].nunique() == expected["distinct_patients"] == 2
    assert ev["account"].tolist() == ["tech13"] * 3 and ev["action"].tolist() == ["read"] * 3
    text = ev.astype(str).to_csv()
    assert "004711" not in text and "004712" not in text  # raw identifiers appear nowhere
