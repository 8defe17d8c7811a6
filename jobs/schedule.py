"""Recurring runs: an Azure ML job schedule that triggers the job `submit` builds.

A schedule holds a trigger (a cron expression or a recurrence, in a time zone) and the job to
create each time it fires. Every triggered job writes its report under a folder named after
that job, so runs never overwrite each other: the output path ends in `${{name}}`, a server
expression Azure ML resolves to the triggered job's own name when it submits it.
https://learn.microsoft.com/azure/machine-learning/concept-expressions (server expressions)
https://learn.microsoft.com/azure/machine-learning/how-to-schedule-pipeline-job
"""

from __future__ import annotations

import dataclasses
import io
import re
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from difflib import get_close_matches
from pathlib import Path
from typing import Any

import yaml

from jobs.analysis import AnalysisOptions
from jobs.errors import InvalidInputError
from jobs.stack import StackOutputs
from jobs.submit import (
    JobSettings,
    _signed_in,
    build_environment,
    build_job,
    ensure_environment,
    ml_client,
)

# The path part Azure ML replaces with each triggered job's name.
RUN_NAME = "${{name}}"
FREQUENCIES = ("minute", "hour", "day", "week", "month")
# A schedule's name, as for every workspace child resource of Azure ML:
# https://learn.microsoft.com/azure/templates/microsoft.machinelearningservices/workspaces/schedules
_SCHEDULE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$")
WEEK_DAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")


@dataclass(frozen=True)
class CronField:
    """One of the five fields of an Azure ML cron expression (NCrontab, no seconds)."""

    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()  # accepted names, in value order from `low`
    supported: bool = True  # Azure ML ignores (treats as *) the day-of-month and month fields


# https://learn.microsoft.com/azure/machine-learning/how-to-schedule-pipeline-job (cron
# expression): MINUTES 0-59, HOURS 0-23, DAYS and MONTHS not supported (read as *),
# DAYS-OF-WEEK 0-6 with 0 Sunday, names of days accepted.
CRON_FIELDS = (
    CronField("minutes", 0, 59),
    CronField("hours", 0, 23),
    CronField("days", 1, 31, supported=False),
    CronField("months", 1, 12, supported=False),
    CronField("days-of-week", 0, 6, names=WEEK_DAYS),
)


def _cron_value(text: str, field: CronField) -> int:
    lowered = text.lower()
    for index, name in enumerate(field.names):
        if lowered in (name, name[:3]):
            return field.low + index
    if not text.isdigit():
        names = f" or a name ({', '.join(n[:3] for n in field.names)})" if field.names else ""
        raise ValueError(f"{text!r} is not a number{names}")
    value = int(text)
    if not field.low <= value <= field.high:
        raise ValueError(f"{value} is outside {field.low}-{field.high}")
    return value


def _check_cron_part(part: str, field: CronField) -> None:
    """`*`, `N`, `N-M`, each optionally `/STEP`."""
    base, _, step = part.partition("/")
    if step and not (step.isdigit() and 1 <= int(step) <= field.high - field.low + 1):
        raise ValueError(f"step {step!r} must be 1-{field.high - field.low + 1}")
    if base == "*":
        return
    first, dash, last = base.partition("-")
    low = _cron_value(first, field)
    if dash and low > _cron_value(last, field):
        raise ValueError(f"range {base!r} runs backwards")


def check_cron(expression: str) -> str:
    """The expression with single spaces, or `InvalidInputError` naming the bad field."""
    parts = expression.split()
    allowed = "MINUTES HOURS DAYS MONTHS DAYS-OF-WEEK, e.g. '0 2 * * *' (02:00 daily)"
    if len(parts) != len(CRON_FIELDS):
        raise InvalidInputError(
            f"--cron {expression!r} has {len(parts)} fields; Azure ML takes 5: {allowed}"
        )
    for text, field in zip(parts, CRON_FIELDS, strict=True):
        if not field.supported and text != "*":
            raise InvalidInputError(
                f"--cron {expression!r}: Azure ML does not support the {field.name} field and "
                "would read it as '*'; write '*' there (use --frequency month for monthly runs)"
            )
        for part in text.split(","):
            try:
                _check_cron_part(part, field)
            except ValueError as error:
                raise InvalidInputError(
                    f"--cron {expression!r}: {field.name} field {text!r}: {error}; allowed: "
                    f"{field.low}-{field.high}, *, ranges A-B, steps */N, lists A,B"
                    + (
                        f", names {'-'.join((field.names[0][:3], field.names[-1][:3]))}"
                        if field.names
                        else ""
                    )
                ) from None
    return " ".join(parts)


def time_zones() -> list[str]:
    """The time zones a job schedule accepts: Windows time zone names, and UTC offsets."""
    from azure.ai.ml.constants import TimeZone

    return [zone.value for zone in TimeZone]


def check_time_zone(name: str) -> str:
    zones = time_zones()
    if name in zones:
        return name
    by_case = {zone.lower(): zone for zone in zones}
    if name.lower() in by_case:
        return by_case[name.lower()]
    close = get_close_matches(name, zones, n=3, cutoff=0.6)
    hint = f" (did you mean {', '.join(repr(z) for z in close)}?)" if close else ""
    iana = " (Windows time zone names, not IANA names)" if "/" in name else ""
    raise InvalidInputError(
        f"--time-zone {name!r} is not a time zone Azure ML schedules accept{hint}; allowed"
        f"{iana}: 'UTC', offsets such as 'UTC-08', or names such as 'Pacific Standard Time' "
        f"and 'W. Europe Standard Time' ({len(zones)} in all, azure.ai.ml.constants.TimeZone)"
    )


_OFFSET_ZONE = re.compile(r"^UTC(?:([+-])(\d{2})(?::?(\d{2}))?)?$")
# Wall clocks run from UTC-12 to UTC+14: a local time is past everywhere once it is earlier
# than the westernmost clock.
_WESTERNMOST = timedelta(hours=-12)


def zone_offset(zone: str) -> timedelta | None:
    """The fixed offset of `UTC` and `UTC±hh[:mm]` zones; None for a named zone."""
    match = _OFFSET_ZONE.match(zone)
    if match is None:
        return None
    sign, hours, minutes = match.groups()
    offset = timedelta(hours=int(hours or 0), minutes=int(minutes or 0))
    return -offset if sign == "-" else offset


def check_start_time(text: str, zone: str, now: datetime | None = None) -> str:
    """`YYYY-MM-DDTHH:MM[:SS]`, local to `zone`, not in the past; returned with seconds.

    For the fixed-offset zones the check is exact. For a named (Windows) zone, whose daylight
    rules this client does not carry, only a time already past on every clock is refused.
    """
    now = now or datetime.now(UTC)
    try:
        start = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInputError(
            f"--start-time {text!r} is not a date and time; use YYYY-MM-DDTHH:MM[:SS], e.g. "
            "2027-01-31T02:00, local to --time-zone"
        ) from None
    if start.tzinfo is not None:
        raise InvalidInputError(
            f"--start-time {text!r} carries a UTC offset; give the local time without one and "
            "the zone with --time-zone"
        )
    offset = zone_offset(zone)
    utc_now = now.astimezone(UTC).replace(tzinfo=None)
    local_now = utc_now + (offset if offset is not None else _WESTERNMOST)
    if start < local_now:
        where = f"in {zone}" if offset is not None else "on every clock"
        raise InvalidInputError(
            f"--start-time {text!r} is in the past ({where} it is already "
            f"{local_now:%Y-%m-%dT%H:%M}); give a future time, or leave it out to start now"
        )
    return start.isoformat(timespec="seconds")


def check_name(name: str) -> str:
    if not _SCHEDULE_NAME.match(name):
        raise InvalidInputError(
            f"schedule name {name!r} is not allowed: 1-255 letters, digits, '-' and '_', "
            "starting with a letter or digit"
        )
    return name


def check_at(text: str) -> tuple[int, int]:
    """`HH:MM` for a recurrence's time of day."""
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", text)
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        raise InvalidInputError(f"--at {text!r} must be a time of day HH:MM, 00:00-23:59")
    return int(match[1]), int(match[2])


@dataclass(frozen=True)
class ScheduleSettings:
    """When a schedule fires; validated by `validate` (every message names its flag)."""

    name: str
    cron: str | None = None
    frequency: str | None = None
    interval: int = 1
    at: str | None = None  # HH:MM, with --frequency day, week or month
    week_days: tuple[str, ...] = ()  # with --frequency week or month
    time_zone: str = "UTC"
    start_time: str | None = None
    description: str | None = None

    def validate(self, now: datetime | None = None) -> ScheduleSettings:
        """A copy with normalised values, or `InvalidInputError`."""
        check_name(self.name)
        if (self.cron is None) == (self.frequency is None):
            raise InvalidInputError("give either --cron EXPRESSION or --frequency UNIT")
        changes: dict[str, Any] = {"time_zone": check_time_zone(self.time_zone)}
        if self.cron is not None:
            if self.at or self.week_days or self.interval != 1:
                raise InvalidInputError(
                    "--at, --week-days and --interval go with --frequency, not --cron"
                )
            changes["cron"] = check_cron(self.cron)
        else:
            if self.frequency not in FREQUENCIES:
                raise InvalidInputError(
                    f"--frequency {self.frequency!r} is not one of: {', '.join(FREQUENCIES)}"
                )
            if self.interval < 1:
                raise InvalidInputError(f"--interval must be at least 1, got {self.interval}")
            # https://learn.microsoft.com/azure/machine-learning/reference-yaml-schedule
            # (recurrence pattern): hours and minutes with day, also week days with week/month.
            if self.at is not None:
                if self.frequency in ("minute", "hour"):
                    raise InvalidInputError(
                        f"--at goes with --frequency day, week or month, not {self.frequency}"
                    )
                check_at(self.at)
            if self.week_days:
                if self.frequency not in ("week", "month"):
                    raise InvalidInputError(
                        f"--week-days goes with --frequency week or month, not {self.frequency}"
                    )
                if self.at is None:
                    raise InvalidInputError("--week-days needs --at HH:MM (the time on those days)")
                changes["week_days"] = tuple(_week_day(day) for day in self.week_days)
        if self.start_time is not None:
            changes["start_time"] = check_start_time(self.start_time, changes["time_zone"], now=now)
        return dataclasses.replace(self, **changes)


def _week_day(text: str) -> str:
    lowered = text.strip().lower()
    for day in WEEK_DAYS:
        if lowered in (day, day[:3]):
            return day
    raise InvalidInputError(
        f"--week-days {text!r} is not a day of the week; allowed: {', '.join(WEEK_DAYS)} "
        "(or their first three letters)"
    )


def run_output_path(schedule: str, output_path: str | None) -> str:
    """The report folder of each triggered job: `<output path>/${{name}}`, where the output
    path defaults to `reports/<schedule>`."""
    base = (output_path or f"reports/{schedule}").strip("/")
    return base if RUN_NAME in base else f"{base}/{RUN_NAME}"


def build_trigger(settings: ScheduleSettings) -> Any:
    from azure.ai.ml.entities import CronTrigger, RecurrencePattern, RecurrenceTrigger

    if settings.cron is not None:
        return CronTrigger(
            expression=settings.cron,
            start_time=settings.start_time,
            time_zone=settings.time_zone,
        )
    pattern = None
    if settings.at is not None:
        hour, minute = check_at(settings.at)
        pattern = RecurrencePattern(
            hours=[hour], minutes=[minute], week_days=list(settings.week_days) or None
        )
    return RecurrenceTrigger(
        frequency=settings.frequency or "day",
        interval=settings.interval,
        schedule=pattern,
        start_time=settings.start_time,
        time_zone=settings.time_zone,
    )


def build_schedule(
    stack: StackOutputs,
    job_settings: JobSettings,
    options: AnalysisOptions,
    settings: ScheduleSettings,
    *,
    now: datetime | None = None,
) -> Any:
    """The azure-ai-ml `JobSchedule` that creates `submit`'s job at every trigger."""
    from azure.ai.ml.entities import JobSchedule

    settings = settings.validate(now=now)
    if job_settings.job_name is not None:
        raise InvalidInputError("--job-name does not apply: each triggered job gets its own name")
    job_settings = dataclasses.replace(
        job_settings, output_path=run_output_path(settings.name, job_settings.output_path)
    )
    job = build_job(stack, job_settings, options)
    job.name = None  # Azure ML names each triggered job; a fixed name would clash at run two
    job.display_name = f"{job.display_name} (schedule {settings.name})"
    job.tags = {**job.tags, "schedule": settings.name}
    return JobSchedule(
        name=settings.name,
        trigger=build_trigger(settings),
        create_job=job,
        description=settings.description
        or f"Dask analysis of {job_settings.input_path.strip('/')} on a schedule",
        tags={"workspace": stack.workspace_name},
    )


def schedule_yaml(schedule: Any) -> str:
    """The schedule as YAML, its job inline (what Azure ML receives)."""
    buffer = io.StringIO()
    schedule.dump(buffer)
    return buffer.getvalue()


def load_back(text: str) -> Any:
    """Validate schedule YAML offline with azure-ai-ml's own loader; return the `Schedule`.

    The schedule YAML schema reads `create_job` as a reference to a job file plus overrides
    (https://learn.microsoft.com/azure/machine-learning/reference-yaml-schedule), so the
    inline job is written to its own file beside the schedule and referenced from it.
    """
    # azure-ai-ml 1.35 keeps `load_schedule` out of its top-level exports.
    from azure.ai.ml.entities._load_functions import load_schedule

    document = yaml.safe_load(text)
    job = document.pop("create_job")
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "job.yaml").write_text(yaml.safe_dump(job, sort_keys=False))
        document["create_job"] = "./job.yaml"
        path = Path(folder, "schedule.yaml")
        path.write_text(yaml.safe_dump(document, sort_keys=False))
        try:
            return load_schedule(path)
        except Exception as error:  # a marshmallow ValidationError listing every field
            raise InvalidInputError(f"azure-ai-ml rejects the schedule: {error}") from None


def print_dry_run(schedule: Any) -> None:
    """Print the schedule YAML on stdout after loading it back offline."""
    text = schedule_yaml(schedule)
    loaded = load_back(text)
    sys.stdout.write(text)
    report = loaded.create_job.outputs["report"].path
    print(
        f"# schedule {loaded.name} validated offline with azure-ai-ml's load_schedule; "
        f"each run writes to {report}",
        file=sys.stderr,
    )


def create(stack: StackOutputs, job_settings: JobSettings, schedule: Any) -> None:
    """Register the job's environment if needed, then create (or replace) the schedule."""
    with _signed_in(stack):
        client = ml_client(stack)
        ensure_environment(client, build_environment(job_settings))
        created = client.schedules.begin_create_or_update(schedule).result()
    print(f"schedule {created.name} created: {describe(created)}")


def describe(schedule: Any) -> str:
    """One line: enabled or not, the trigger, and the next run Azure ML computed."""
    trigger = schedule.trigger
    if getattr(trigger, "expression", None):
        when = f"cron '{trigger.expression}'"
    else:
        when = f"every {trigger.interval} {trigger.frequency}"
    state = "enabled" if getattr(schedule, "is_enabled", True) else "disabled"
    zone = getattr(trigger, "time_zone", None) or "UTC"
    return f"{state}, {when} ({zone})"


def list_schedules(stack: StackOutputs) -> None:
    with _signed_in(stack):
        schedules = list(ml_client(stack).schedules.list())
    if not schedules:
        print(f"no schedules in workspace {stack.workspace_name}")
    for item in schedules:
        print(f"{item.name}: {describe(item)}")


def show(stack: StackOutputs, name: str) -> None:
    from azure.core.exceptions import ResourceNotFoundError

    check_name(name)
    with _signed_in(stack):
        try:
            item = ml_client(stack).schedules.get(name)
        except ResourceNotFoundError:
            raise InvalidInputError(_not_found(stack, name)) from None
    sys.stdout.write(schedule_yaml(item))


def change(stack: StackOutputs, name: str, action: str) -> None:
    """`disable`, `enable` or `delete` a schedule (deleting keeps the jobs it triggered)."""
    from azure.core.exceptions import ResourceNotFoundError

    check_name(name)
    with _signed_in(stack):
        operations = ml_client(stack).schedules
        begin = {
            "disable": operations.begin_disable,
            "enable": operations.begin_enable,
            "delete": operations.begin_delete,
        }[action]
        try:
            begin(name).result()
        except ResourceNotFoundError:
            raise InvalidInputError(_not_found(stack, name)) from None
    print(f"schedule {name} {action}d")


def _not_found(stack: StackOutputs, name: str) -> str:
    return (
        f"no schedule {name!r} in workspace {stack.workspace_name}; "
        "`python -m jobs schedule list` shows those there are"
    )
