"""The command line: help on every subcommand, usage errors, the local run end to end."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from jobs.cli import build_parser, main
from tests.jobs.conftest import REPOSITORY_ROOT, STACK_OUTPUTS


@pytest.mark.parametrize(
    "command", [[], ["sample-data"], ["run"], ["submit"], ["schedule"], ["schedule", "create"]]
)
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
    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    assert summary["rows"] == 20_000
    assert summary["cluster"]["dashboard"] is None  # a local run serves no live dashboard...
    assert "dashboard none (--dashboard serves one)" in ran.stderr
    performance = tmp_path / "report" / "dask-performance-report.html"
    assert performance.stat().st_size > 0 and "<html" in performance.read_text().lower()
    # Checked before any cluster starts: exit 3 and the reason.
    again = main(["run", "--input", str(tmp_path / "data"), "--output", str(tmp_path / "report")])
    assert again == 3
    assert "already has content" in capsys.readouterr().err


def test_run_serves_the_live_dashboard_when_asked(sensor_dataset: Path, tmp_path: Path) -> None:
    """...unless `--dashboard` asks for one (a free port here, so tests never contend)."""
    code = main(
        ["run", "--input", str(sensor_dataset), "--output", str(tmp_path / "report"),
         "--time-column", "readingTime", "--no-prepared", "--dashboard", "127.0.0.1:0"]
    )  # fmt: skip
    assert code == 0
    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    assert summary["cluster"]["dashboard"].startswith("http://127.0.0.1:")
    assert summary["cluster"]["dashboard"].endswith("/status")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("nonsense", "expected [HOST]:PORT"),
        ("8787", "expected [HOST]:PORT"),
        (":99999", "expected [HOST]:PORT"),
        ("no-such-host.invalid:8787", "host 'no-such-host.invalid'"),
    ],
)
def test_a_dashboard_address_of_the_wrong_form_exits_2(
    value: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--dashboard nonsense` ended in a traceback from the cluster's start."""
    with pytest.raises(SystemExit) as exit_:
        main(["run", "--input", "a", "--output", "b", "--dashboard", value])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "--dashboard" in err and message in err and "Traceback" not in err


@pytest.mark.parametrize("other", [["--mpi"], ["--scheduler", "tcp://127.0.0.1:8786"]])
def test_dashboard_is_for_a_local_cluster_only(
    other: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """dask-mpi always serves its dashboard, and a running scheduler has its own."""
    with pytest.raises(SystemExit) as exit_:
        main(["run", "--input", "a", "--output", "b", "--dashboard", *other])
    assert exit_.value.code == 2
    assert f"argument {other[0]}: not allowed with argument --dashboard" in capsys.readouterr().err


def test_a_dashboard_address_not_of_this_machine_exits_3(
    sensor_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 192.0.2.1 (TEST-NET-1) is never an address of this machine: binding to it fails at once.
    code = main(
        ["run", "--input", str(sensor_dataset), "--output", str(tmp_path / "report"),
         "--time-column", "readingTime", "--dashboard", "192.0.2.1:8787"]
    )  # fmt: skip
    assert code == 3
    err = capsys.readouterr().err
    assert "could not serve its dashboard at 192.0.2.1:8787" in err and "Traceback" not in err
    assert not (tmp_path / "report").exists()


@pytest.mark.parametrize("value", ["lots", "4 gigs", "-1", "0", "1.5x"])
def test_memory_limit_of_the_wrong_form_exits_2(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """#13 item 8: `--memory-limit lots` ended in a traceback after the cluster started."""
    with pytest.raises(SystemExit) as exit_:
        main(["run", "--input", "a", "--output", "b", "--memory-limit", value])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "--memory-limit: expected 'auto', a number of bytes" in err and repr(value) in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("value", "parsed"), [("auto", "auto"), ("4GiB", "4GiB"), ("4GB", "4GB"), ("0.5", 0.5),
                          ("2000000000", "2000000000")]
)  # fmt: skip
def test_memory_limit_forms_dask_accepts(value: str, parsed: object) -> None:
    args = build_parser().parse_args(["run", "--input", "a", "--output", "b",
                                      "--memory-limit", value])  # fmt: skip
    assert args.memory_limit == parsed


def test_unreachable_scheduler_exits_4_naming_it(
    sensor_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], clean_env
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{probe.getsockname()[1]}"
    code = main(["run", "--input", str(sensor_dataset), "--output", str(tmp_path / "report"),
                 "--time-column", "readingTime", "--scheduler", address])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 4
    assert f"cannot reach the Dask scheduler {address}" in err
    assert "Traceback" not in err
    assert not (tmp_path / "report").exists()


def test_submit_without_an_azure_sign_in_exits_4_in_one_line(tmp_path: Path) -> None:
    """#13 item 8: ended in a 93-line traceback. No az, no token cache, no identity."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "AZURE_CONFIG_DIR": str(tmp_path)}
    outputs = tmp_path / "outputs.json"
    outputs.write_bytes(STACK_OUTPUTS.read_bytes())
    before = outputs.read_bytes()
    done = subprocess.run(
        [sys.executable, "-m", "jobs", "submit", "--outputs", str(outputs), "--input", "taxi"],
        cwd=REPOSITORY_ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 4, done.stderr
    assert "Traceback" not in done.stderr
    # Besides the `# sizing:` note, one line: the error.
    lines = [line for line in done.stderr.strip().splitlines() if not line.startswith("# ")]
    assert len(lines) == 1 and lines[0].startswith("error: not signed in to Azure"), lines
    assert "mlw-amldask-dev" in lines[0] and "az login" in lines[0]
    assert outputs.read_bytes() == before


def test_exit_codes_page_matches_the_constants() -> None:
    """docs/exit-codes.md is the one table; the jobs and plan constants must agree with it."""
    from jobs import errors
    from plan.exit_codes import ExitCode

    page = (REPOSITORY_ROOT / "docs" / "exit-codes.md").read_text()
    scheme = page.split("## ")[0]
    documented = {int(m) for m in re.findall(r"^\| (\d+) \|", scheme, re.MULTILINE)}
    jobs_codes = {v for k, v in vars(errors).items() if k.startswith("EXIT_")}
    assert documented == jobs_codes | {int(code) for code in ExitCode}
    jobs_section = page.split("## Jobs")[1].split("\n## ")[0]
    jobs_rows = {int(m) for m in re.findall(r"^\| `python -m jobs[^|]*\| (\d+) \|", jobs_section,
                                            re.MULTILINE)}  # fmt: skip
    assert jobs_rows <= jobs_codes and jobs_codes - jobs_rows <= {errors.EXIT_BUG}
    assert errors.StorageUnreachableError.exit_code == errors.EXIT_SERVICE_UNREACHABLE == 4
