"""Splink's EM driving an m estimate below 1e-300 (issue 13's known failure, fixed).

In ``benchmarks/attribution.py``'s calibration the generated ``staff_export`` case
(seed 2, scale 0.2) failed with ``LinkageError ... during training (ValueError)``:
in the EM block of full first name + postcode, the birth date's ``year`` level is
shown only by pairs EM takes for non-matches, and its m fell 1e-31, 1e-52, ...,
1e-309 in 8 iterations, below Splink 5's minimum (1e-300), which Splink refuses.
"""

from __future__ import annotations

import contextlib

import pytest
from splink.internals import expectation_maximisation as em
from splink.internals.comparison_level import ComparisonLevel
from splink.internals.dialects import SplinkDialect

from labforensics.errors import LinkageError
from labforensics.leak import linkage
from labforensics.leak._em import em_m_u_held_at_minimum


class _Level(ComparisonLevel):
    comparison_vector_value = 1  # the level's gamma (a property in Splink)


def _level() -> _Level:
    return _Level("dob_l = dob_r", SplinkDialect.from_string("duckdb"), label_for_charts="year")


def test_em_m_below_splinks_minimum_is_held_at_it():
    # the value the failing case's 8th EM iteration produced
    lookup = {"dob": {1: {"m_probability": 1.33460292847325e-309, "u_probability": 0.0465}}}
    lv = _level()
    with pytest.raises(ValueError, match="below the minimum"):  # Splink alone refuses it
        em.populate_m_u_from_lookup({"u"}, lv, "dob", lookup)
    with em_m_u_held_at_minimum():
        em.populate_m_u_from_lookup({"u"}, lv, "dob", lookup)
    assert lv.m_probability == 1e-300  # Splink's M_U_CLAMP_MIN
    # the SQL result is not altered, and Splink's function is restored on exit
    assert lookup["dob"][1]["m_probability"] == 1.33460292847325e-309
    with pytest.raises(ValueError):
        em.populate_m_u_from_lookup({"u"}, _level(), "dob", lookup)


def test_em_values_above_the_minimum_pass_unchanged():
    lookup = {"dob": {1: {"m_probability": 0.0123, "u_probability": 0.0465}}}
    lv = _level()
    with em_m_u_held_at_minimum():
        em.populate_m_u_from_lookup({"u"}, lv, "dob", lookup)
    assert lv.m_probability == 0.0123


@pytest.mark.slow  # generates a 2-lab case with its evidence (~10-20 s) and links it twice
def test_generated_case_whose_em_collapsed_now_links(tmp_path, monkeypatch):
    from labforensics.leak.dump import read_dump
    from labforensics.leak.patients import read_patient_index
    from labforensics.privacy import CaseKey
    from labforensics.synth import generate

    key = CaseKey(bytes(range(32)))
    generate(tmp_path / "c", labs=2, start="2019-01-07", end="2019-04-30", scale=0.2, seed=2,
             linkage=True, linkage_scenario="staff_export")  # fmt: skip
    ix = read_patient_index(tmp_path / "c" / "patients", case_key=key).people
    dm = read_dump(tmp_path / "c" / "dump", case_key=key).people
    params = linkage.LinkageParams(decoy=False, threshold=0.5)
    lk = linkage.link_dump(ix, dm, seed=2, params=params)
    assert len(lk.links) == len(dm)
    # the collapsed level ends at the documented floor (m_floor, renormalised)
    m = lk.model.set_index(["comparison", "level"])["m"]
    assert m[("dob", "year")] <= 1.01 * params.m_floor
    # without the hold, the same case fails as in the calibration run
    monkeypatch.setattr(linkage, "em_m_u_held_at_minimum", contextlib.nullcontext)
    with pytest.raises(LinkageError, match="during training"):
        linkage.link_dump(ix, dm, seed=2, params=params)
