"""Look-alike identities shown apart (QA session 11, finding 6)."""

import pandas as pd
from markupsafe import Markup

from labforensics._terminal import identity_visible, mixed_script_visible, text_visible
from labforensics.outputs import write_csv


def test_six_lookalikes_all_different():
    accs = ["tech.a", "tech.\u0430", "tech.a\u200b", "tech.a ", "TECH.A", "tech.a\u00a0"]
    shown = [identity_visible(a) for a in accs]
    assert shown == ["tech.a", "tech.\\u0430", "tech.a\\u200b", "tech.a\\x20", "TECH.A",
                     "tech.a\\xa0"]  # fmt: skip
    assert len(set(shown)) == 6


def test_legit_names_unchanged():
    for name in ("hélène.m", "иванов", "CORP\\jdoe", "o'brien", "jean-françois", "müller"):
        assert identity_visible(name) is name
    assert identity_visible(" lead") == "\\x20lead"
    assert identity_visible("   ") == "\\x20\\x20\\x20"
    assert identity_visible(None) is None and identity_visible(3) == 3


def test_mixed_scripts_per_word():
    # Latin main script: the Cyrillic е and а escaped; a Cyrillic word alone kept
    assert mixed_script_visible("t\u0435ch.\u0430 иванов") == "t\\u0435ch.\\u0430 иванов"
    # Cyrillic main script (5 Cyrillic, 1 Latin 'a'): the Latin letter escaped
    assert mixed_script_visible("ивaнов") == "ив\\x61нов"
    # Greek omicron in a Latin word; a fullwidth a
    assert mixed_script_visible("r\u03bfot") == "r\\u03bfot"
    assert mixed_script_visible("\uff41dmin") == "\\uff41dmin"


def test_text_visible_keeps_markup_type():
    m = Markup("<td>tech.\u0430\u00a0</td>")
    out = text_visible(m)
    assert isinstance(out, Markup) and str(out) == "<td>tech.\\u0430\\xa0</td>"
    assert text_visible("Verdict: hélène.m, 3 %") == "Verdict: hélène.m, 3 %"


def test_csv_identity_columns(tmp_path):
    df = pd.DataFrame({"account": ["tech.a", "tech.a ", "tech.\u0430"],
                       "note": ["ends with space ", "x\u00a0y", "hélène"]})  # fmt: skip
    text = write_csv(df, tmp_path / "t.csv").read_text(encoding="utf-8")
    assert text.splitlines() == ["account,note", "tech.a,ends with space ",
                                 "tech.a\\x20,x\\xa0y", "tech.\\u0430,hélène"]  # fmt: skip
