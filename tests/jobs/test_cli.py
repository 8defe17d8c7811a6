"""The command line: help on every subcommand, usage errors, the local run end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from jobs.cli import main
from tests.jobs.conftest import REPOSITORY_ROOT


@pytest.mark.parametrize("command", [[], ["sample-data"], ["run"], ["submit"]])
def test_help(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([*command, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "exit codes: 0 success" in out


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["sample-data", "--output", "x", "--rows", "zero"])
    assert exit_.value.code == 2
    assert "--rows: expected a whole number" in capsys.readouterr().err


def test_scheduler_and_mpi_are_exclusive(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["run", "--input", "a", "--output", "b", "--mpi", "--scheduler", "tcp://x:8786"])
    assert "not allowed with argument" in capsys.readouterr().err


def test_sample_data_then_run_as_the_demo_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`python -m jobs sample-data` then `python -m jobs run`, as separate processes."""

    def jobs(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "jobs", *args],
            cwd=REPOSITORY_ROOT, capture_output=True, text=True, check=False, timeout=300,
        )  # fmt: skip

    made = jobs(
        "sample-data", "--output", str(tmp_path / "data"), "--rows", "20000", "--no-progress"
    )
    assert made.returncode == 0, made.stderr
    ran = jobs("run", "--input", str(tmp_path / "data"), "--output", str(tmp_path / "report"))
    assert ran.returncode == 0, ran.stderr
    assert f"summary: {tmp_path / 'report'}/summary.json" in ran.stdout
    assert f"plot:    {tmp_path / 'report'}/daily_means.png" in ran.stdout
    assert json.loads((tmp_path / "report" / "summary.json").read_text())["rows"] == 20_000
    # Checked before any cluster starts: exit 3 and the reason.
    again = main(["run", "--input", str(tmp_path / "data"), "--output", str(tmp_path / "report")])
    assert again == 3
    assert "already has content" in capsys.readouterr().err
