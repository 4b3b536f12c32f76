"""Attribution reads addresses through the case's NetworkMap: without networks an
outside address is unknown and does not make a session external."""

from __future__ import annotations

import pandas as pd
import pytest
from attribution_scenarios import (
    KEY,
    LAB_NET,
    OUTSIDE_IP,
    T0,
    VENDOR_NET,
    base_case,
    build,
    export_session,
    leak_frame,
    sample_before,
)

from labforensics.attribution import AttributionParams, attribute
from labforensics.case import CaseContext
from labforensics.networks import NetworkMap

CASE = CaseContext(networks=NetworkMap(by_lab=LAB_NET, vendor=[VENDOR_NET]))

P = AttributionParams(stability=False)
T = T0 + pd.Timedelta(days=50, hours=2)


@pytest.fixture(scope="module")
def outside_export():
    """A staff export of 400 records from an outside address, no failed logins."""
    c = base_case()
    export_session(c, "L02", T, "jean.p", "TECHNICIEN", "staff", OUTSIDE_IP, "RESULTATS", 400)
    ev, ss = build(c)
    return ev, ss, leak_frame([("L02", sample_before("L02", T, 400, 2))])


def _top(a):
    return a.candidates.iloc[0]


def test_configured_networks_call_the_outside_address_external(outside_export):
    ev, ss, leak = outside_export
    nm = NetworkMap(by_lab=LAB_NET, vendor=[VENDOR_NET])
    a = attribute(ev, ss, leak=leak, case_key=KEY, params=P, case=CaseContext(networks=nm))
    # 198.51.100.7 is in no lab or vendor block: other, hence external
    assert (_top(a)["network"], _top(a)["hypothesis"], a.verdict) == (
        "other",
        "external",
        "external",
    )


def test_without_networks_the_address_is_unknown_and_not_external(outside_export):
    ev, ss, leak = outside_export
    # the default case: no networks given
    a = attribute(ev, ss, leak=leak, case_key=KEY, params=P, case=CaseContext())
    # no lab block: 198.51.100.7 cannot be placed; a staff account stays insider
    assert (_top(a)["network"], _top(a)["hypothesis"], a.verdict) == (
        "unknown",
        "insider",
        "insider",
    )
    assert any("lab networks not given" in n for n in a.totals["notes"])


def test_params_without_networks_behave_as_no_networks(outside_export):
    ev, ss, leak = outside_export
    a = attribute(ev, ss, leak=leak, case_key=KEY, params=AttributionParams(stability=False))
    # the RFC 1918 default is gone: 10.x lab addresses are unknown too, never 'lab'
    assert set(a.candidates["network"]) <= {"unknown", "local"}
    assert _top(a)["hypothesis"] == "insider"
