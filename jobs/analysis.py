"""The analysis of a parquet dataset with a timestamp column, wherever Dask runs.

The steps follow the seed walkthrough (count the rows, persist, `describe` the numeric
columns, average them per day and plot that) and finish what it left unwritten: a clean
dataset (invalid rows dropped and counted, derived columns for the yellow-taxi schema)
written as parquet partitioned by year and month, and a JSON summary with every figure and
the time each stage took. Everything is written to a staging folder and committed at the end.

Design: one pass. Each partition (a run of row groups within a file) is read once by one task
that computes its row count, describe summaries, daily sums and drop counts and writes its
prepared file (`jobs.scan`); the later steps only merge those small partials. The seed's
persist is skipped on purpose: nothing reads the rows twice, so holding every column in
cluster memory would only cost memory (and spill, for a dataset larger than the workers'
memory). The summary says so.

This module never creates or finds a cluster: it uses whatever Dask client is current (a
LocalCluster on a laptop, dask-mpi on Azure ML) or, with none, Dask's local scheduler. Call
`analyze` from code (a benchmark, a notebook) or through `python -m jobs run`.
"""

from __future__ import annotations

import logging
import platform
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import dask
import pyarrow as pa
import pyarrow.parquet as pq

from jobs import prepare, report, scan, stats
from jobs.cluster import current_client, dashboard_link
from jobs.data import (
    Location,
    ParquetDataset,
    StagedOutput,
    check_apart,
    inspect_parquet,
    resolve,
)
from jobs.errors import InvalidInputError
from jobs.frames import worker_peak_memory, worker_spilled_bytes

log = logging.getLogger(__name__)

DEFAULT_TIME_COLUMN = "tpepPickupDateTime"
PREPARED_FOLDER = "prepared"
# Rows per partition are chosen so that one partition is about this many bytes in memory
# (Arrow columns plus the float copies the sketches read): a million taxi rows, fewer rows
# of a wide dataset. Small enough for a task to run in a 1.5 GiB worker with room to spare,
# large enough that per-task overhead stays negligible.
PARTITION_BYTES = 144 * 2**20
PARTITION_ROWS = 1_000_000  # the most rows in one partition, however narrow the rows
SCAN_KEY = "scan-partition-"  # task keys: this and the partition's index
PERSIST_SKIPPED = (
    "not persisted: one pass over each partition computes every figure and writes the "
    "prepared dataset, so no step reads the rows twice and holding them in cluster memory "
    "would not pay"
)


@dataclass(frozen=True)
class AnalysisOptions:
    """What to analyse and how; every field has a CLI flag of the same name."""

    time_column: str = DEFAULT_TIME_COLUMN
    numeric_columns: tuple[str, ...] | None = None  # None: every integer/float column
    keep_columns: tuple[str, ...] | None = None  # prepared dataset's columns; None: all
    sketch_size: int = stats.DEFAULT_SKETCH_SIZE
    write_prepared: bool = True
    overwrite: bool = False


@dataclass(frozen=True)
class ColumnPlan:
    """The columns one run reads, and what it does with them."""

    time_column: str
    numeric_columns: list[str]
    read_columns: list[str]
    taxi: bool
    finite_columns: list[str] = field(default_factory=list)  # the not-finite rule reads these
    skipped_rule_columns: dict[str, float] = field(default_factory=dict)  # name -> missing
    daily_index: str = "day"
    partitioned_by: tuple[str, str] = ("year", "month")
    derived: dict[str, str] = field(default_factory=dict)


def _is_numeric(kind: pa.DataType) -> bool:
    return pa.types.is_integer(kind) or pa.types.is_floating(kind)


def _is_time(kind: pa.DataType) -> bool:
    return pa.types.is_timestamp(kind) or pa.types.is_date(kind)


def unused_name(name: str, taken: set[str]) -> str:
    """`name`, or `name_2`, `name_3`, ... : the first that no column of `taken` has."""
    candidate, number = name, 1
    while candidate in taken:
        number += 1
        candidate = f"{name}_{number}"
    return candidate


def _time_hint(schema: pa.Schema, rejected: str | None = None) -> str:
    """What could serve as the time column, or how to make one."""
    usable = [f.name for f in schema if _is_time(f.type)]
    if usable:
        return (
            f"timestamp or date columns that could serve: {', '.join(usable)} "
            "(choose one with --time-column)"
        )
    strings = [
        f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
    ]
    if rejected in strings:
        return (
            f"the dataset has no timestamp or date column, and the job does not parse text; "
            f"write {rejected} into the parquet files as a timestamp (with pandas: "
            f"frame[{rejected!r}] = pd.to_datetime(frame[{rejected!r}]))"
        )
    return (
        "the dataset has no timestamp or date column; the job needs one to average by day "
        "(a string column is not parsed: write it into the parquet files as a timestamp)"
    )


def plan_columns(
    dataset: ParquetDataset, options: AnalysisOptions, missing: dict[str, float] | None = None
) -> ColumnPlan:
    """Check the requested columns against the dataset's schema and choose what to read.

    `missing` is each column's share of null values (from the footers; `missing_shares`):
    the not-finite drop rule reads only the numeric columns at most
    `prepare.MOSTLY_PRESENT_MISSING` missing, so that one mostly-empty column does not drop
    most rows.
    """
    schema: pa.Schema = dataset.schema
    names = list(schema.names)
    where = f"dataset {dataset.location}"
    time_column = options.time_column
    if time_column not in names:
        raise InvalidInputError(
            f"time column {time_column!r} is not in {where}; {_time_hint(schema)}"
        )
    time_type = schema.field(time_column).type
    if not _is_time(time_type):
        raise InvalidInputError(
            f"time column {time_column!r} in {where} is {time_type}, not a timestamp or date; "
            f"{_time_hint(schema, time_column)}"
        )

    if options.numeric_columns is None:
        numeric = [n for n in names if n != time_column and _is_numeric(schema.field(n).type)]
        if not numeric:
            raise InvalidInputError(f"{where} has no integer or float columns to describe")
    else:
        numeric = list(dict.fromkeys(options.numeric_columns))
        for name in numeric:
            if name not in names:
                raise InvalidInputError(f"numeric column {name!r} is not in {where}")
            if not _is_numeric(schema.field(name).type):
                raise InvalidInputError(
                    f"column {name!r} in {where} is {schema.field(name).type}, not numeric"
                )
        if not numeric:
            raise InvalidInputError("--numeric-columns names no column")
    keep = names if options.keep_columns is None else list(options.keep_columns)
    for name in keep:
        if name not in names:
            raise InvalidInputError(f"kept column {name!r} is not in {where}")
    taxi = prepare.is_taxi(names)
    # A file without the time column (or a column the taxi rules read) would have every
    # row dropped: refuse it, naming the file. Other columns read as nulls where absent.
    for name in (time_column, *(prepare.TAXI_COLUMNS if taxi else ())):
        lacking = dataset.absent.get(name, ())
        if lacking:
            more = f" (and {len(lacking) - 1} more files)" if len(lacking) > 1 else ""
            role = "time column" if name == time_column else "column the yellow-taxi rules read"
            raise InvalidInputError(
                f"{role} {name!r} is missing from {lacking[0]}{more} of {where}; every file "
                "must have it"
            )
    wanted = {time_column, *numeric, *keep, *(prepare.TAXI_COLUMNS if taxi else ())}
    read = [name for name in names if name in wanted]  # the dataset's own order
    missing = missing or {}
    limit = prepare.MOSTLY_PRESENT_MISSING
    finite = [n for n in numeric if missing.get(n, 0.0) <= limit]
    skipped = {n: round(missing[n], 4) for n in numeric if missing.get(n, 0.0) > limit}
    taken = set(names)
    derived = {n: unused_name(n, taken) for n in prepare.DERIVED_TAXI_COLUMNS} if taxi else {}
    taken |= set(derived.values())
    year, month = prepare.partition_columns(time_column, taxi)
    year = unused_name(year, taken)
    month = unused_name(month, taken | {year})
    return ColumnPlan(
        time_column,
        numeric,
        read,
        taxi,
        finite_columns=finite,
        skipped_rule_columns=skipped,
        daily_index=unused_name("day", set(names)),
        partitioned_by=(year, month),
        derived=derived,
    )


def missing_shares(dataset: ParquetDataset, columns: list[str]) -> dict[str, float]:
    """Each column's share of null values, from the null counts in the files' footers (a
    column whose writer recorded none counts as fully present; a file without the column
    counts all its rows)."""
    fs, _ = dataset.location.filesystem()

    def nulls(path: str) -> dict[str, int]:
        with fs.open(path, "rb") as handle:
            meta = pq.read_metadata(handle)
        positions = {meta.schema.column(i).path: i for i in range(meta.num_columns)}
        # A column the file lacks is null in every one of its rows.
        counted = {name: 0 if name in positions else meta.num_rows for name in columns}
        for group in range(meta.num_row_groups):
            row_group = meta.row_group(group)
            for name in columns:
                if name not in positions:
                    continue
                statistics = row_group.column(positions[name]).statistics
                if statistics is not None and statistics.has_null_count:
                    counted[name] += statistics.null_count
        return counted

    with ThreadPoolExecutor(max_workers=16) as pool:
        per_file = list(pool.map(nulls, dataset.files))
    rows = max(dataset.rows, 1)
    return {name: sum(part[name] for part in per_file) / rows for name in columns}


class Timings:
    """Wall-clock seconds per stage, in the order the stages ran."""

    def __init__(self, on_stage: Callable[[str], None] | None = None) -> None:
        self.seconds: dict[str, float] = {}
        self._on_stage = on_stage

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time one stage; `on_stage(name)` is called as it starts."""
        if self._on_stage is not None:
            self._on_stage(name)
        log.info("stage %s ...", name)
        start = time.perf_counter()
        yield
        self.seconds[name] = round(time.perf_counter() - start, 4)
        log.info("stage %s took %.2f s", name, self.seconds[name])


def _worker_addresses() -> set[str]:
    """The addresses of the current distributed client's workers; none without a client."""
    client = current_client()
    if client is None:
        return set()
    return set(client.scheduler_info(n_workers=-1).get("workers", {}))


def _cluster_info(started_with: set[str]) -> dict[str, Any]:
    """The cluster a run used, and how its workers fared since `started_with` were there."""
    client = current_client()
    if client is None:
        return {"scheduler": "local (no distributed client)"}
    info = client.scheduler_info(n_workers=-1)
    workers = info.get("workers", {})
    return {
        "scheduler": info.get("address"),
        "dashboard": dashboard_link(client),
        "workers": len(workers),
        "threads": sum(w.get("nthreads", 0) for w in workers.values()),
        # Each worker's high-water mark since it started (this run's, for a fresh cluster).
        "peakMemoryBytes": worker_peak_memory(client),
        "spilledBytes": worker_spilled_bytes(client),
        # A worker that died mid-run (out of memory, killed) is replaced under a new address.
        "workersLost": len(started_with - set(workers)),
    }


@dataclass
class CheckedRun:
    """An analysis whose inputs are inspected and whose output folder is vetted; nothing
    has been written yet."""

    source: Location
    target: Location
    options: AnalysisOptions
    dataset: ParquetDataset
    columns: ColumnPlan
    staged: StagedOutput
    timings: Timings
    started: float


def check(
    dataset: str | Location,
    output: str | Location,
    options: AnalysisOptions | None = None,
    *,
    on_stage: Callable[[str], None] | None = None,
) -> CheckedRun:
    """Validate everything a run needs (dataset files and footers, columns, output folder)
    without a cluster and without writing; raise `InvalidInputError` or
    `StorageUnreachableError` naming the culprit."""
    options = options or AnalysisOptions()
    if options.sketch_size < 10:
        raise InvalidInputError(f"sketch size must be at least 10, got {options.sketch_size}")
    timings = Timings(on_stage)
    started = time.perf_counter()
    source = dataset if isinstance(dataset, Location) else resolve(dataset)
    target = output if isinstance(output, Location) else resolve(output)
    check_apart(source, target)  # before anything reads or stages: the output never holds the data
    with timings.stage("inspect"):
        info = inspect_parquet(source)
        numeric = plan_columns(info, options).numeric_columns
        columns = plan_columns(info, options, missing_shares(info, numeric))
        staged = StagedOutput(target, overwrite=options.overwrite)
    return CheckedRun(source, target, options, info, columns, staged, timings, started)


def execute(run: CheckedRun) -> dict[str, Any]:
    """Run a checked analysis on the current Dask client (or the local scheduler) and commit
    its report; any failure removes what this run staged."""
    try:
        staging = run.staged.open_staging()
        summary = _run(run.source, run.dataset, run.columns, run.options, staging, run.timings)
        summary["output"] = str(run.target)
        summary["timings"] = dict(run.timings.seconds)
        summary["totalSeconds"] = round(time.perf_counter() - run.started, 4)
        report.write_bytes(staging, report.SUMMARY_FILE, report.summary_bytes(summary))
        summary["mlflow"] = report.log_to_mlflow(summary, lambda: _report_files(staging))
        run.staged.commit()
    except BaseException:
        run.staged.abort()
        raise
    return summary


def analyze(
    dataset: str | Location,
    output: str | Location,
    options: AnalysisOptions | None = None,
    *,
    on_stage: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Analyse `dataset` and commit the report to `output`; return the summary.

    The summary holds every figure written to `summary.json`, including `timings` (seconds
    per stage). Bad input raises `InvalidInputError` or `StorageUnreachableError` before
    anything is written; any failure later removes what this run staged.
    """
    return execute(check(dataset, output, options, on_stage=on_stage))


def _report_files(staging: Location) -> dict[str, bytes]:
    fs, path = staging.filesystem()
    names = [
        report.SUMMARY_FILE,
        report.DESCRIBE_FILE,
        report.DAILY_MEANS_FILE,
        report.PLOT_FILE,
        report.PERFORMANCE_REPORT_FILE,
    ]
    return {name: fs.cat_file(f"{path}/{name}") for name in names if fs.exists(f"{path}/{name}")}


def partitions(info: ParquetDataset) -> list[tuple[str, tuple[int, ...]]]:
    """The partitions of one pass: (file, row groups) runs of about `row_groups_per_partition`
    row groups within a file, in file order."""
    if not info.file_row_groups:
        raise InvalidInputError(f"dataset {info.location} lists no row groups")
    step = row_groups_per_partition(info)
    return [
        (path, tuple(range(first, min(first + step, groups))))
        for path, groups in zip(info.files, info.file_row_groups, strict=True)
        for first in range(0, groups, step)
    ]


def row_bytes(schema: pa.Schema) -> int:
    """A row's rough size in memory during a pass: 8 bytes a fixed-width column (and 8 more
    for its float copy), 24 a string."""
    return sum(16 if pa.types.is_primitive(f.type) else 24 for f in schema) or 1


def row_groups_per_partition(info: ParquetDataset, columns: list[str] | None = None) -> int:
    """Row groups per partition for partitions of about `PARTITION_BYTES` in memory (at most
    `PARTITION_ROWS` rows).

    Partitions follow the files' row groups, not the files: a writer's big files (the
    yellow-taxi months) would otherwise make partitions of several million rows, too big for
    a worker with a modest memory limit, and too few to spread evenly over the workers.
    Parquet's own size figures are no guide here, since dictionary-encoded columns are far
    smaller on disk than in memory.
    """
    if info.row_groups < 1:
        return 1
    schema = info.schema if columns is None else pa.schema([info.schema.field(c) for c in columns])
    rows = min(PARTITION_ROWS, PARTITION_BYTES // row_bytes(schema))
    rows_per_group = max(info.rows / info.row_groups, 1.0)
    return max(1, round(rows / rows_per_group))


def one_pass(
    source: Location,
    info: ParquetDataset,
    plan: ColumnPlan,
    options: AnalysisOptions,
    target: Location | None,
) -> list[scan.Partial]:
    """Run `jobs.scan.scan_partition` over every partition on the current scheduler and
    gather the partials (small: counts, sketches, daily sums)."""
    pass_plan = scan.PassPlan(
        location=source,
        read_columns=plan.read_columns,
        time_column=plan.time_column,
        numeric_columns=plan.numeric_columns,
        finite_columns=plan.finite_columns,
        taxi=plan.taxi,
        sketch_size=options.sketch_size,
        target=target.url if target is not None else None,
        target_options=target.storage_options if target is not None else {},
        partitioned_by=plan.partitioned_by,
        derived=plan.derived,
        read_schema=pa.schema([info.schema.field(name) for name in plan.read_columns]),
    )
    task = dask.delayed(scan.scan_partition, pure=False)  # it writes files
    pieces = partitions(info)
    keys = [f"{SCAN_KEY}{index}" for index in range(len(pieces))]
    tasks = [
        task(piece, pass_plan, index, dask_key_name=key)
        for index, (piece, key) in enumerate(zip(pieces, keys, strict=True))
    ]
    try:
        return list(dask.compute(*tasks))
    except Exception as error:
        raise _read_error(error, dict(zip(keys, pieces, strict=True)), source) from None


def _read_error(
    error: Exception, pieces: dict[str, tuple[str, tuple[int, ...]]], source: Location
) -> Exception:
    """A task's failure as the client receives it (distributed re-raises the worker's
    exception), as an error naming the file when the task's partition is known.

    `scan_partition` already names the file of any read or write error; what is left is a
    worker that died while reading a partition (a crash in a decoder on a damaged file, or
    a row group larger than the worker's memory), which the scheduler reports as
    `KilledWorker` with the task's key.
    """
    if isinstance(error, InvalidInputError):
        return error
    from distributed import KilledWorker

    if isinstance(error, KilledWorker) and str(error.task) in pieces:
        path, groups = pieces[str(error.task)]
        return InvalidInputError(
            f"{path} in dataset {source}: the workers reading row groups {groups[0]}-"
            f"{groups[-1]} died ({error.allowed_failures + 1} tries); the file may be damaged, "
            "or a row group too big for a worker's memory (see --memory-limit)"
        )
    return error


def _run(
    source: Location,
    info: ParquetDataset,
    plan: ColumnPlan,
    options: AnalysisOptions,
    staging: Location,
    timings: Timings,
) -> dict[str, Any]:
    import pandas as pd  # here, not at the top: checking the input does not need it

    numeric, time_column = plan.numeric_columns, plan.time_column
    target = staging.child(PREPARED_FOLDER) if options.write_prepared else None

    workers = _worker_addresses()
    performance = report.PerformanceReport.start(staging)
    with timings.stage("pass"):
        parts = one_pass(source, info, plan, options, target)

    with timings.stage("count"):
        rows = sum(part.rows for part in parts)

    with timings.stage("describe"):
        merged = stats.merge_summaries([part.summaries for part in parts])
        describe = {column: merged[column].describe() for column in numeric}

    with timings.stage("daily_means"):
        daily = stats.daily_means([part.daily for part in parts], numeric, plan.daily_index)

    with timings.stage("prepare"):
        prepared = _prepared_summary(parts, plan, options)

    with timings.stage("report"):
        title = f"Daily averages by {time_column}, {rows:,} rows"
        plot = report.start_plot(daily, title)  # drawn while the rest is written
        performance_file = performance.finish()
        describe_table = pd.DataFrame(describe)
        report.write_bytes(staging, report.DESCRIBE_FILE, describe_table.to_csv().encode())
        report.write_bytes(staging, report.DAILY_MEANS_FILE, daily.to_csv().encode())
        report.write_bytes(staging, report.PLOT_FILE, plot())

    return {
        "dataset": str(source),
        "files": len(info.files),
        "partitions": len(parts),
        "rows": rows,
        "timeColumn": time_column,
        "numericColumns": numeric,
        "schema": "nyc-taxi-yellow" if plan.taxi else "generic",
        "absentColumns": _absent_columns(info, plan),
        "steps": {
            "len": "rows counted per partition in the one pass, then summed",
            "persist": PERSIST_SKIPPED,
            "describe": "per-partition summaries and quantile sketches, merged",
            "dailyMeans": "per-partition daily sums and counts, merged; plotted",
        },
        "persisted": False,
        "describe": describe,
        "quantiles": {
            "sketchSize": options.sketch_size,
            "rankErrorBound": f"+/- (rows/{options.sketch_size} + partitions) ranks",
            "maxRankError": rows // options.sketch_size + len(parts),
        },
        "dailyMeans": {
            "days": len(daily),
            "index": plan.daily_index,
            "first": daily.index.min().isoformat() if len(daily) else None,
            "last": daily.index.max().isoformat() if len(daily) else None,
            "file": report.DAILY_MEANS_FILE,
            "plot": report.PLOT_FILE,
        },
        "prepared": prepared,
        "performanceReport": performance_file,
        "cluster": _cluster_info(workers),
        "versions": {
            "python": platform.python_version(),
            "dask": dask.__version__,
            "pandas": pd.__version__,
            "pyarrow": pa.__version__,
        },
    }


def _absent_columns(info: ParquetDataset, plan: ColumnPlan) -> dict[str, str]:
    """The columns read that some files lack, and how they were read there."""
    return {
        name: f"absent from {len(info.absent[name])} of {len(info.files)} files "
        f"({info.rows_without(name):,} rows): read as nulls there"
        for name in plan.read_columns
        if name in info.absent
    }


def _prepared_summary(
    parts: list[scan.Partial], plan: ColumnPlan, options: AnalysisOptions
) -> dict[str, Any]:
    rules = prepare.rules_for(plan.time_column, plan.finite_columns, plan.taxi)
    rows_in = sum(part.rows for part in parts)
    dropped = sum(part.dropped for part in parts)
    limit = prepare.MOSTLY_PRESENT_MISSING
    return {
        "rowsIn": rows_in,
        "rowsDropped": dropped,
        "rowsOut": rows_in - dropped,
        "droppedBy": {
            rule.name: sum(part.dropped_by.get(rule.name, 0) for part in parts) for rule in rules
        },
        "rules": {rule.name: rule.description for rule in rules},
        "notFiniteRuleSkips": {
            name: f"{share:.1%} of its values are missing (more than {limit:.0%}): "
            "a missing value here does not drop the row"
            for name, share in plan.skipped_rule_columns.items()
        },
        "columns": [*plan.read_columns, *plan.derived.values()],
        "derivedColumns": list(plan.derived.values()),
        "partitionedBy": list(plan.partitioned_by),
        "files": sum(part.files for part in parts),
        "path": PREPARED_FOLDER if options.write_prepared else None,
    }
