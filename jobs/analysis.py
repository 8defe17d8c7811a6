"""The analysis of a parquet dataset with a timestamp column, wherever Dask runs.

The steps follow the seed walkthrough and finish what it left unwritten: read the dataset
once (only the columns needed) and persist it in cluster memory; count rows; `describe` the
numeric columns; average them per day and plot that; prepare a clean dataset (invalid rows
dropped and counted, derived columns for the yellow-taxi schema) written as parquet
partitioned by year and month; and a JSON summary with every figure and the time each stage
took. Everything is written to a staging folder and committed at the end.

This module never creates or finds a cluster: it uses whatever Dask client is current (a
LocalCluster on a laptop, dask-mpi on Azure ML) or, with none, Dask's local scheduler. Call
`analyze` from code (a benchmark, a notebook) or through `python -m jobs run`.
"""

from __future__ import annotations

import logging
import platform
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

import dask
import dask.dataframe as dd
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from jobs import prepare, report, stats
from jobs.data import Location, ParquetDataset, StagedOutput, inspect_parquet, resolve
from jobs.errors import InvalidInputError
from jobs.frames import persist_with

log = logging.getLogger(__name__)

DEFAULT_TIME_COLUMN = "tpepPickupDateTime"
PREPARED_FOLDER = "prepared"
# About 90 MB in memory for ten 8-byte columns: small enough to convert and hold within a
# 1.5 GiB worker, large enough that per-task overhead stays negligible.
PARTITION_ROWS = 1_000_000


@dataclass(frozen=True)
class AnalysisOptions:
    """What to analyse and how; every field has a CLI flag of the same name."""

    time_column: str = DEFAULT_TIME_COLUMN
    numeric_columns: tuple[str, ...] | None = None  # None: every integer/float column
    keep_columns: tuple[str, ...] = ()  # extra columns carried into the prepared dataset
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


def plan_columns(dataset: ParquetDataset, options: AnalysisOptions) -> ColumnPlan:
    """Check the requested columns against the dataset's schema and choose what to read."""
    schema: pa.Schema = dataset.schema
    names = list(schema.names)
    where = f"dataset {dataset.location}"
    if options.time_column not in names:
        raise InvalidInputError(
            f"time column {options.time_column!r} is not in {where}; "
            f"its columns are: {', '.join(names)} (choose one with --time-column)"
        )
    time_type = schema.field(options.time_column).type
    if not pa.types.is_timestamp(time_type):
        raise InvalidInputError(
            f"time column {options.time_column!r} in {where} is {time_type}, not a timestamp"
        )

    def is_numeric(name: str) -> bool:
        kind = schema.field(name).type
        return pa.types.is_integer(kind) or pa.types.is_floating(kind)

    if options.numeric_columns is None:
        numeric = [n for n in names if n != options.time_column and is_numeric(n)]
        if not numeric:
            raise InvalidInputError(f"{where} has no integer or float columns to describe")
    else:
        numeric = list(dict.fromkeys(options.numeric_columns))
        for name in numeric:
            if name not in names:
                raise InvalidInputError(f"numeric column {name!r} is not in {where}")
            if not is_numeric(name):
                raise InvalidInputError(
                    f"column {name!r} in {where} is {schema.field(name).type}, not numeric"
                )
        if not numeric:
            raise InvalidInputError("--numeric-columns names no column")
    for name in options.keep_columns:
        if name not in names:
            raise InvalidInputError(f"kept column {name!r} is not in {where}")
    taxi = prepare.is_taxi(names)
    read = [options.time_column, *numeric]
    if taxi:
        read += list(prepare.TAXI_COLUMNS)
    read += list(options.keep_columns)
    return ColumnPlan(options.time_column, numeric, list(dict.fromkeys(read)), taxi)


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


def _cluster_info() -> dict[str, Any]:
    try:
        from distributed import get_client

        client = get_client()
    except ValueError:
        return {"scheduler": "local (no distributed client)"}
    info = client.scheduler_info(n_workers=-1)
    workers = info.get("workers", {})
    return {
        "scheduler": info.get("address"),
        "dashboard": client.dashboard_link,
        "workers": len(workers),
        "threads": sum(w.get("nthreads", 0) for w in workers.values()),
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
    with timings.stage("inspect"):
        info = inspect_parquet(source)
        columns = plan_columns(info, options)
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
        summary["mlflow"] = report.log_to_mlflow(summary, _report_files(staging))
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
    names = [report.SUMMARY_FILE, report.DESCRIBE_FILE, report.DAILY_MEANS_FILE, report.PLOT_FILE]
    return {name: fs.cat_file(f"{path}/{name}") for name in names if fs.exists(f"{path}/{name}")}


def _run(
    source: Location,
    info: ParquetDataset,
    plan: ColumnPlan,
    options: AnalysisOptions,
    staging: Location,
    timings: Timings,
) -> dict[str, Any]:
    numeric, time_column = plan.numeric_columns, plan.time_column

    with timings.stage("load"):
        persisted = persist(read(source, plan, info), plan, options.sketch_size)
        frame = persisted.frame

    with timings.stage("count"):
        rows = count_rows(persisted)

    with timings.stage("describe"):
        describe = describe_columns(persisted)

    with timings.stage("daily_means"):
        daily = daily_means(persisted)

    with timings.stage("prepare"):
        prepared = _prepare(frame, plan, staging, options)

    with timings.stage("report"):
        describe_table = pd.DataFrame(describe)
        report.write_bytes(staging, report.DESCRIBE_FILE, describe_table.to_csv().encode())
        report.write_bytes(staging, report.DAILY_MEANS_FILE, daily.to_csv().encode())
        title = f"Daily averages by {time_column}, {rows:,} rows"
        report.write_bytes(staging, report.PLOT_FILE, report.plot_daily_means(daily, title))

    return {
        "dataset": str(source),
        "files": len(info.files),
        "partitions": frame.npartitions,
        "rows": rows,
        "timeColumn": time_column,
        "numericColumns": numeric,
        "schema": "nyc-taxi-yellow" if plan.taxi else "generic",
        "describe": describe,
        "quantiles": {
            "sketchSize": options.sketch_size,
            "rankErrorBound": f"+/- (rows/{options.sketch_size} + partitions) ranks",
            "maxRankError": rows // options.sketch_size + frame.npartitions,
        },
        "dailyMeans": {
            "days": len(daily),
            "first": daily.index.min().isoformat() if len(daily) else None,
            "last": daily.index.max().isoformat() if len(daily) else None,
            "file": report.DAILY_MEANS_FILE,
            "plot": report.PLOT_FILE,
        },
        "prepared": prepared,
        "cluster": _cluster_info(),
        "versions": {
            "python": platform.python_version(),
            "dask": dask.__version__,
            "pandas": pd.__version__,
            "pyarrow": pa.__version__,
        },
    }


def read(source: Location, plan: ColumnPlan, info: ParquetDataset | None = None) -> dd.DataFrame:
    """The dataset as a lazy Dask frame of only the planned columns, one partition per run
    of about `PARTITION_ROWS` rows of row groups within a file (see
    `row_groups_per_partition`).

    Each partition is read with pyarrow straight from the row groups the footers listed
    (`inspect_parquet` already read them): no second discovery of the dataset and no
    per-partition planning, which made dask's generic parquet reader cost about 60% more
    CPU per partition than the read itself.
    """
    info = info if info is not None else inspect_parquet(source)
    if not info.file_row_groups:
        raise InvalidInputError(f"dataset {source} lists no row groups")
    step = row_groups_per_partition(info)
    pieces = [
        (path, tuple(range(first, min(first + step, groups))))
        for path, groups in zip(info.files, info.file_row_groups, strict=True)
        for first in range(0, groups, step)
    ]
    meta = info.schema.empty_table().select(plan.read_columns).to_pandas()
    return dd.from_map(
        _read_row_groups,
        pieces,
        location=source,
        columns=plan.read_columns,
        meta=meta,
        enforce_metadata=False,
        label="read-parquet",
    )


def _read_row_groups(
    piece: tuple[str, tuple[int, ...]], location: Location, columns: list[str]
) -> pd.DataFrame:
    path, groups = piece
    fs, _ = location.filesystem()
    with fs.open(path, "rb") as handle:
        table = pq.ParquetFile(handle).read_row_groups(groups, columns=columns, use_threads=False)
    return table.to_pandas()


def row_groups_per_partition(info: ParquetDataset) -> int:
    """Row groups per partition for partitions near `PARTITION_ROWS` rows.

    Partitions follow the files' row groups, not the files: a writer's big files (the
    yellow-taxi months) would otherwise make partitions of several million rows, too big for
    a worker with a modest memory limit to convert and hold, and too few to spread evenly
    over the workers. Parquet's own size figures are no guide here, since dictionary-encoded
    columns are far smaller on disk than in memory.
    """
    if info.row_groups < 1:
        return 1
    rows_per_group = max(info.rows / info.row_groups, 1.0)
    return max(1, round(PARTITION_ROWS / rows_per_group))


@dataclass
class PersistedFrame:
    """The frame held in memory and what one pass over each of its partitions computed:
    row counts, column summaries (`describe`) and daily sums, held next to the data."""

    frame: dd.DataFrame
    numeric_columns: list[str]
    time_column: str
    partials: dict[str, list[Any]]


def persist(frame: dd.DataFrame, plan: ColumnPlan, sketch_size: int) -> PersistedFrame:
    """Read `frame` once into cluster memory, summarising each partition as it arrives.

    The frame stays persisted for the stages that need the rows (prepare). Counting,
    `describe` and daily sums are small per-partition results computed in the same pass, so
    the later stages only merge them: the data is read from storage once and scanned in
    memory once, and a frame larger than the workers' memory is not read back from spill
    three more times.
    """
    numeric, time_column = plan.numeric_columns, plan.time_column
    persisted, partials = persist_with(
        frame,
        {
            "rows": len,
            "summary": partial(stats.summarise_partition, columns=numeric, sketch_size=sketch_size),
            "daily": partial(stats.daily_sums, time_column=time_column, columns=numeric),
        },
    )
    return PersistedFrame(persisted, numeric, time_column, partials)


def count_rows(persisted: PersistedFrame) -> int:
    """Row count of the persisted frame."""
    return int(sum(dask.compute(*persisted.partials["rows"])))


def describe_columns(persisted: PersistedFrame) -> dict[str, dict[str, float]]:
    """pandas' `describe` figures per numeric column, quartiles from mergeable sketches."""
    summaries = dask.compute(*persisted.partials["summary"])
    merged = stats.merge_summaries(list(summaries))
    return {column: merged[column].describe() for column in persisted.numeric_columns}


def daily_means(persisted: PersistedFrame) -> pd.DataFrame:
    """Mean of each numeric column per calendar day of the time column, one row per day."""
    daily_parts = dask.compute(*persisted.partials["daily"])
    return stats.daily_means(list(daily_parts), persisted.numeric_columns)


def _prepare(
    frame: dd.DataFrame, plan: ColumnPlan, staging: Location, options: AnalysisOptions
) -> dict[str, Any]:
    rules = prepare.generic_rules(plan.time_column, plan.numeric_columns)
    if plan.taxi:
        rules += prepare.taxi_rules()
    target = staging.child(PREPARED_FOLDER)
    write = dask.delayed(prepare.write_prepared_partition, pure=False)  # it writes files
    counts = dask.compute(
        *[
            write(
                part,
                rules,
                plan.time_column,
                plan.taxi,
                target.url if options.write_prepared else None,
                target.storage_options,
                index,
            )
            for index, part in enumerate(frame.to_delayed())
        ]
    )
    total = sum(counts[1:], start=counts[0])
    dropped_by = {rule.name: int(total[rule.name]) for rule in rules}
    return {
        "rowsIn": int(total["rowsIn"]),
        "rowsDropped": int(total["rowsDropped"]),
        "rowsOut": int(total["rowsIn"] - total["rowsDropped"]),
        "droppedBy": dropped_by,
        "rules": {rule.name: rule.description for rule in rules},
        "derivedColumns": list(prepare.DERIVED_TAXI_COLUMNS) if plan.taxi else [],
        "partitionedBy": list(prepare.partition_columns(plan.time_column, plan.taxi)),
        "path": PREPARED_FOLDER if options.write_prepared else None,
    }
