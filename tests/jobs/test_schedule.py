"""Recurring runs, offline: the schedule YAML read back with azure-ai-ml's own loader, the
run-specific output path, and every bad input refused (exit 3) before anything is sent."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from jobs import schedule
from jobs.cli import main
from jobs.errors import InvalidInputError
from jobs.stack import read_outputs_file
from tests.jobs.conftest import STACK_OUTPUTS

CREATE = ["schedule", "create", "--outputs", str(STACK_OUTPUTS), "--input", "nyctlc/yellow"]


def dry_run(capsys: pytest.CaptureFixture[str], *flags: str) -> tuple[int, Any, str]:
    """Run `schedule create --dry-run` and load its YAML back; (exit code, Schedule, stderr)."""
    code = main([*CREATE, "--dry-run", *flags])
    captured = capsys.readouterr()
    if code != 0:
        return code, None, captured.err
    return code, schedule.load_back(captured.out), captured.err


def test_cron_schedule_round_trips_through_load_schedule(
    capsys: pytest.CaptureFixture[str],
) -> None:
    stack = read_outputs_file(STACK_OUTPUTS)
    code, loaded, err = dry_run(
        capsys,
        "--name", "nightly-raw",
        "--cron", "30 2 * * mon-fri",
        "--time-zone", "W. Europe Standard Time",
        "--start-time", "2099-01-01T00:00",
        "--instance-count", "3",
    )  # fmt: skip
    assert code == 0, err
    assert "validated offline with azure-ai-ml's load_schedule" in err
    assert type(loaded).__name__ == "JobSchedule"
    assert loaded.name == "nightly-raw"
    assert type(loaded.trigger).__name__ == "CronTrigger"
    assert loaded.trigger.expression == "30 2 * * mon-fri"
    assert loaded.trigger.time_zone == "W. Europe Standard Time"
    assert str(loaded.trigger.start_time).startswith("2099-01-01")
    job = loaded.create_job
    assert job.type == "command"
    assert job.name is None  # each triggered job gets its own name
    assert job.compute == stack.default_compute_cluster
    assert job.resources.instance_count == 3
    assert job.distribution.type == "mpi"
    assert job.tags["schedule"] == "nightly-raw"


def test_each_run_writes_under_its_own_job_name(capsys: pytest.CaptureFixture[str]) -> None:
    code, loaded, err = dry_run(capsys, "--name", "nightly", "--cron", "0 2 * * *")
    assert code == 0, err
    report = loaded.create_job.outputs["report"]
    # ${{name}} is resolved by Azure ML to the triggered job's name when it submits it.
    assert report.path == "azureml://datastores/datalake_raw/paths/reports/nightly/${{name}}/"
    assert report.mode == "rw_mount"
    assert "--output ${{outputs.report}}" in loaded.create_job.command


def test_output_path_is_a_prefix_the_run_name_extends(capsys: pytest.CaptureFixture[str]) -> None:
    code, loaded, err = dry_run(
        capsys,
        "--name", "n",
        "--frequency", "hour",
        "--output-datastore", "datalake_curated",
        "--output-path", "/nightly/taxi/",
    )  # fmt: skip
    assert code == 0, err
    path = loaded.create_job.outputs["report"].path
    assert path == "azureml://datastores/datalake_curated/paths/nightly/taxi/${{name}}/"
    assert schedule.run_output_path("n", "a/${{name}}/b") == "a/${{name}}/b"


def test_recurrence_schedule_round_trips(capsys: pytest.CaptureFixture[str]) -> None:
    code, loaded, err = dry_run(
        capsys,
        "--name", "weekly",
        "--frequency", "week",
        "--interval", "2",
        "--at", "03:15",
        "--week-days", "mon,Thursday",
        "--time-zone", "utc-08",
    )  # fmt: skip
    assert code == 0, err
    trigger = loaded.trigger
    assert type(trigger).__name__ == "RecurrenceTrigger"
    assert (trigger.frequency, trigger.interval) == ("week", 2)
    assert (trigger.schedule.hours, trigger.schedule.minutes) == ([3], [15])
    assert trigger.schedule.week_days == ["monday", "thursday"]
    assert trigger.time_zone == "UTC-08"


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--cron", "0 2 * *"], "has 4 fields; Azure ML takes 5"),
        (["--cron", "0 2 * * * *"], "has 6 fields"),
        (["--cron", "60 2 * * *"], "minutes field '60': 60 is outside 0-59"),
        (["--cron", "0 24 * * *"], "hours field '24': 24 is outside 0-23"),
        (["--cron", "0 2 * * 7"], "days-of-week field '7': 7 is outside 0-6"),
        (["--cron", "0 2 * * funday"], "'funday' is not a number or a name (sun, mon"),
        (["--cron", "0 9-5 * * *"], "range '9-5' runs backwards"),
        (["--cron", "*/0 * * * *"], "step '0' must be 1-60"),
        (["--cron", "0 2 1 * *"], "does not support the days field"),
        (["--cron", "0 2 * jan *"], "does not support the months field"),
        (["--cron", "0 2 * * *", "--time-zone", "Europe/Berlin"], "not IANA names"),
        (
            ["--cron", "0 2 * * *", "--time-zone", "Pacific Standrd Time"],
            "did you mean 'Pacific Standard Time'",
        ),
        (["--cron", "0 2 * * *", "--start-time", "2020-01-01T00:00"], "is in the past"),
        (["--cron", "0 2 * * *", "--start-time", "tomorrow"], "is not a date and time"),
        (
            ["--cron", "0 2 * * *", "--start-time", "2099-01-01T00:00+02:00"],
            "carries a UTC offset",
        ),
        (["--cron", "0 2 * * *", "--at", "02:00"], "go with --frequency, not --cron"),
        (["--frequency", "hour", "--at", "02:00"], "--at goes with --frequency day"),
        (["--frequency", "day", "--at", "25:00"], "--at '25:00' must be a time of day"),
        (["--frequency", "day", "--at", "02:00", "--week-days", "mon"], "--week-days goes"),
        (["--frequency", "week", "--week-days", "mon"], "--week-days needs --at"),
        (["--frequency", "week", "--at", "02:00", "--week-days", "mo"], "'mo' is not a day"),
    ],
)
def test_bad_trigger_exits_3_naming_the_flag(
    flags: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = dry_run(capsys, "--name", "nightly", *flags)
    assert code == 3
    assert message in err


@pytest.mark.parametrize("name", ["-nightly", "nightly run", "x" * 256, "nächtlich"])
def test_bad_schedule_name_exits_3(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = dry_run(capsys, f"--name={name}", "--cron", "0 2 * * *")
    assert code == 3
    assert "1-255 letters, digits, '-' and '_'" in err


def test_submit_settings_are_checked_too(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = dry_run(
        capsys, "--name", "n", "--cron", "0 2 * * *", "--input-mode", "ro_mount", "--input", "/"
    )
    assert code == 3
    assert "--input must be a path inside the datastore" in err


def test_start_time_in_the_past_for_fixed_and_named_zones() -> None:
    now = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)
    # UTC+05: it is 17:00 there, so 16:00 local is past and 18:00 is not.
    with pytest.raises(InvalidInputError, match="in the past"):
        schedule.check_start_time("2030-06-01T16:00", "UTC+05", now=now)
    assert schedule.check_start_time("2030-06-01T18:00", "UTC+05", now=now).endswith("18:00:00")
    # A named zone: refused only once past on every clock (UTC-12 reads 00:00 here).
    with pytest.raises(InvalidInputError, match="on every clock"):
        schedule.check_start_time("2030-05-31T23:59", "Hawaiian Standard Time", now=now)
    schedule.check_start_time("2030-06-01T00:01", "Hawaiian Standard Time", now=now)


def test_every_time_zone_is_one_azure_ml_lists() -> None:
    from azure.ai.ml.constants import TimeZone

    assert schedule.check_time_zone("UTC") == TimeZone.UTC.value
    assert schedule.check_time_zone("pacific standard time") == "Pacific Standard Time"
    assert set(schedule.time_zones()) == {zone.value for zone in TimeZone}


def test_job_name_does_not_apply_to_a_schedule() -> None:
    from jobs.analysis import AnalysisOptions
    from jobs.submit import JobSettings

    stack = read_outputs_file(STACK_OUTPUTS)
    with pytest.raises(InvalidInputError, match="--job-name does not apply"):
        schedule.build_schedule(
            stack,
            JobSettings(input_path="x", job_name="fixed"),
            AnalysisOptions(),
            schedule.ScheduleSettings(name="n", cron="0 2 * * *"),
        )


def test_load_back_reports_what_azure_ml_rejects() -> None:
    text = "name: n\ntrigger:\n  type: cron\ncreate_job:\n  type: command\n  command: ls\n"
    with pytest.raises(InvalidInputError, match="azure-ai-ml rejects the schedule"):
        schedule.load_back(text)


def test_schedule_actions_without_sign_in_exit_4(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A real MLClient whose credential has nothing to sign in with: the SDK raises
    CredentialUnavailableError at its first request, and the CLI says so with exit 4."""
    from azure.ai.ml import MLClient
    from azure.identity import EnvironmentCredential

    for variable in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "AZURE_USERNAME"):
        monkeypatch.delenv(variable, raising=False)

    def offline_client(stack: Any) -> Any:
        return MLClient(
            EnvironmentCredential(),
            subscription_id=stack.subscription_id,
            resource_group_name=stack.resource_group_name,
            workspace_name=stack.workspace_name,
        )

    monkeypatch.setattr(schedule, "ml_client", offline_client)
    create = ["create", "--input", "nyctlc/yellow", "--name", "nightly", "--cron", "0 2 * * *"]
    for action in (
        create,
        ["list"],
        ["show", "nightly"],
        ["enable", "nightly"],
        ["disable", "nightly"],
        ["delete", "nightly"],
    ):
        code = main(["schedule", *action, "--outputs", str(STACK_OUTPUTS)])
        err = capsys.readouterr().err
        assert code == 4, (action, err)
        assert "not signed in to Azure" in err
