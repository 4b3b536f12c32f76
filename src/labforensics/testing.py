"""pytest plugin (entry point ``pytest11``) that replays ``fixtures/*/case.toml``.

The replay logic is added by the investigation module; this module must import
cheaply and never break pytest.
"""
