"""``python -m bench --help`` tells what there is and runs nothing; a wrong name is refused."""

from __future__ import annotations

import pytest

from bench.__main__ import BENCHMARKS, main


def test_help_lists_every_benchmark_and_runs_none(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["--help"])
    assert stopped.value.code == 0
    out = capsys.readouterr().out
    assert all(name in out for name in BENCHMARKS)
    assert "===" not in out  # the banner each benchmark run prints


def test_an_unknown_benchmark_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["no_such_bench"])
    assert stopped.value.code == 2
    assert "unknown benchmark no_such_bench" in capsys.readouterr().err
