"""A Dask scheduler address that is malformed or unreachable: one clear error, no
traceback (QA session 15: ``--scheduler tcp://127.0.0.1:1`` ended in an OSError
traceback after 30 s, ``--scheduler foo`` in a ValueError one)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

pytest.importorskip("distributed")

import dask

from labforensics.engine.dask import DaskEngine
from labforensics.errors import ParameterError


def _closed_port() -> int:
    """A local TCP port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_malformed_address_is_a_parameter_error():
    with pytest.raises(ParameterError) as exc:
        DaskEngine(scheduler="foo")
    msg = str(exc.value)
    assert msg.startswith("cannot use the Dask scheduler foo: ") and "tcp://HOST:PORT" in msg
    assert "\n" not in msg


def test_unreachable_scheduler_is_a_parameter_error():
    addr = f"tcp://127.0.0.1:{_closed_port()}"
    with dask.config.set({"distributed.comm.timeouts.connect": "2s"}):
        with pytest.raises(ParameterError) as exc:
            DaskEngine(scheduler=addr)
    assert str(exc.value).startswith(f"cannot use the Dask scheduler {addr}: ")


def test_cli_exits_2_with_one_line(tmp_path, capsys):
    from labforensics.cli import main

    fixture = Path(__file__).resolve().parents[2] / "fixtures" / "no-incident"
    with dask.config.set({"distributed.comm.timeouts.connect": "2s"}):
        rc = main(["investigate", "--case", str(fixture / "case.toml"), "--out",
                   str(tmp_path / "out"), "--engine", "dask", "--scheduler", "foo", "--quiet"])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 2
    assert "Traceback" not in err
    errors = [ln for ln in err.splitlines() if ln.startswith("labforensics: error: ")]
    assert len(errors) == 1 and "cannot use the Dask scheduler foo: " in errors[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no output folder, no key left
