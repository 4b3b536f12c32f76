"""A small generated case of the vendor's extraction, for the tests that investigate it.

Two labs, January to April 2019, scale 0.1, seed 3, the dump of the vendor's
extraction (``linkage_scenario="vendor_extraction"``), with the case file and key
those tests share (:func:`make_case`).
"""

from __future__ import annotations

from pathlib import Path

#: ``labforensics.synth.generate`` parameters of the case.
SMALL = dict(labs=2, start="2019-01-07", end="2019-04-30", scale=0.1, seed=3)

_CASE_TOML = """[case]
name = "{name}"
tz = "Europe/Paris"
seed = 3
key_file = "case.key"
[networks]
lab = ["10.0.0.0/8"]
vendor = ["172.16.0.0/16"]
[accounts]
vendor = ["hotline.editeur", "migration.editeur"]
"""


def make_case(base: Path, name: str) -> Path:
    """Generate the case into ``base / "gen"``, write ``case.toml`` (named ``name``) and
    ``case.key`` beside it; returns the generated folder."""
    from labforensics import synth

    gen = base / "gen"
    synth.generate(gen, linkage=True, linkage_scenario="vendor_extraction", **SMALL)
    (base / "case.key").write_text("cd" * 32, encoding="utf-8")
    (base / "case.toml").write_text(_CASE_TOML.format(name=name), encoding="utf-8")
    return gen
