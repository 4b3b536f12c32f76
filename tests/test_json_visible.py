"""findings.json writes control and bidi characters as JSON escapes (QA session 11, 13)."""

import json

from labforensics._terminal import json_visible
from labforensics.outputs import write_json


def test_rlo_escaped_value_unchanged(tmp_path):
    obj = {"account": "adm\u202egnp.exe", "b": ["x\u200by", "del\x7f", "emoji \U0001f600",
                                                  "hélène.m", "tab\tline\nend", "nbsp\u00a0"]}  # fmt: skip
    p = write_json(obj, tmp_path / "f.json")
    raw = p.read_text(encoding="utf-8")
    assert "\u202e" not in raw and "\u200b" not in raw and "\x7f" not in raw
    assert '"adm\\u202egnp.exe"' in raw
    assert '"x\\u200by"' in raw and '"del\\u007f"' in raw
    assert "hélène.m" in raw and "\U0001f600" in raw  # printable: kept as is
    assert json.loads(raw) == obj


def test_printable_text_same_bytes():
    text = json.dumps({"a": "hélène", "b": [1, 2]}, indent=2, ensure_ascii=False)
    assert json_visible(text) is text


def test_astral_format_char_as_surrogate_pair():
    # U+E0001 LANGUAGE TAG (Cf): JSON writes it as a surrogate pair
    text = json.dumps("a\U000e0001b", ensure_ascii=False)
    out = json_visible(text)
    assert out == '"a\\udb40\\udc01b"'
    assert json.loads(out) == "a\U000e0001b"
