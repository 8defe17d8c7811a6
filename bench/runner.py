"""One benchmark run: the comparison at the main size, the size sweep, worker scaling and the
memory run, each engine timed on the same files of the same machine.

Method: the OS page cache is warmed by reading every file once before any timing, so every
engine starts warm; Dask workers are started and their imports loaded before timing (cluster
start-up is not part of the job). Each measurement runs the engines in turn, `repeat` times,
and keeps each engine's fastest run (the least disturbed by other load on the machine).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import agree, cluster, engines, whole
from bench.dataset import ensure_dataset
from jobs.data import Location, inspect_parquet

SECTIONS = ("whole", "main", "sweep", "scaling", "memory")
COMPUTE_STAGES = ("pass", "count", "describe", "daily_means")


@dataclass(frozen=True)
class Options:
    """What to run; every field has a `python -m bench` flag."""

    data_dir: Path
    rows: int
    sizes: tuple[int, ...]
    workers: int = 2
    duckdb_threads: int = 2
    repeat: int = 3
    sketch_size: int = 1000
    memory_rows: int = 48_000_000
    memory_limit: str = "1.5GiB"
    sections: tuple[str, ...] = SECTIONS
    progress: bool = True


@dataclass
class Measurement:
    """Every engine's fastest run on one dataset, and the agreement checks."""

    rows: int
    files: int
    best: dict[str, engines.Result] = field(default_factory=dict)
    runs: dict[str, list[float]] = field(default_factory=dict)
    checks: list[agree.Check] = field(default_factory=list)

    def keep(self, key: str, result: engines.Result) -> None:
        """Record one run; keep it if it is this engine's fastest."""
        self.runs.setdefault(key, []).append(round(result.total, 4))
        if key not in self.best or result.total < self.best[key].total:
            self.best[key] = result


def warm_page_cache(folder: Path) -> None:
    """Read every file once so that all engines start from the same warm cache."""
    for path in sorted(folder.rglob("*.parquet")):
        with path.open("rb") as handle:
            while handle.read(1 << 24):
                pass


def compute_seconds(result: engines.Result) -> float:
    """The job's time on the stages that do work on the cluster (not inspect or report)."""
    return sum(result.seconds.get(stage, 0.0) for stage in COMPUTE_STAGES)


def measure(
    folder: Path,
    client: Any,
    options: Options,
    *,
    engines_to_run: tuple[str, ...] = ("floor", "duckdb", "duckdb-approx", "job"),
    check: bool = True,
    log: Callable[[str], None] = print,
) -> Measurement:
    """Time the engines on `folder`, fastest of `options.repeat` runs each; check agreement."""
    columns = engines.plan(folder)
    info = inspect_parquet(Location(str(folder)))
    warm_page_cache(folder)
    result = Measurement(rows=info.rows, files=len(info.files))
    runners: dict[str, Callable[[], engines.Result]] = {
        "floor": lambda: engines.run_floor(folder, columns),
        "duckdb": lambda: engines.run_duckdb(folder, columns, options.duckdb_threads),
        "duckdb-approx": lambda: engines.run_duckdb(
            folder, columns, options.duckdb_threads, exact=False
        ),
        "job": lambda: engines.run_job(folder, options.sketch_size),
    }
    for attempt in range(1, options.repeat + 1):
        for key in engines_to_run:
            run = runners[key]()
            result.keep(key, run)
            log(
                f"  {info.rows:>12,} rows  run {attempt}/{options.repeat}  "
                f"{key:<14} {run.total:8.2f} s"
            )
    if check and "job" in result.best and "duckdb" in result.best:
        job = result.best["job"]
        result.checks = agree.compare(result.best["duckdb"], job)
        result.checks += agree.check_quartiles(
            folder, columns, job, options.sketch_size, int(job.extra["partitions"])
        )
        if "floor" in result.best:
            floor_rows = result.best["floor"].rows
            result.checks.append(
                agree.Check("floor.rows", floor_rows == job.rows, f"{floor_rows} vs {job.rows}")
            )
    return result


def run_memory(options: Options, log: Callable[[str], None] = print) -> dict[str, Any]:
    """The job on a dataset larger than the workers' combined memory limit: it must spill,
    not fail. Reports peak and spilled bytes per worker, and checks the results."""
    folder = ensure_dataset(options.data_dir, options.memory_rows, progress=options.progress)
    columns = engines.plan(folder)
    warm_page_cache(folder)
    after_pass: dict[str, Any] = {}
    with cluster.local_cluster(options.workers, options.memory_limit) as client:
        limit = sum(w["memory_limit"] for w in client.scheduler_info()["workers"].values())
        can_reset = cluster.reset_peak_memory(client)

        def on_stage(stage: str) -> None:
            if stage == "count":  # the one pass is done: what is held, what spilled
                after_pass.update(cluster.worker_memory(client))

        log(
            f"  memory run: {options.memory_rows:,} rows, "
            f"{options.workers} x {options.memory_limit}"
        )
        job = engines.run_job(folder, options.sketch_size, on_stage=on_stage)
        peaks = cluster.worker_memory(client)
        workers_left = len(client.scheduler_info()["workers"])
    reference = engines.run_duckdb(folder, columns, options.duckdb_threads, exact=False)
    checks = agree.compare(reference, job)
    checks += agree.check_quartiles(
        folder, columns, job, options.sketch_size, int(job.extra["partitions"])
    )
    in_memory = job.rows * len(columns.read) * 8  # every read column is 8 bytes a row in pandas
    return {
        "rows": job.rows,
        "workers": options.workers,
        "memoryLimitPerWorker": options.memory_limit,
        "combinedLimitBytes": limit,
        "datasetInMemoryBytes": in_memory,
        "seconds": {k: round(v, 4) for k, v in job.seconds.items()},
        "totalSeconds": round(job.total, 4),
        "spilledBytesAfterPass": {a: m["spilledBytes"] for a, m in after_pass.items()},
        "peakWorkerBytes": {a: m["peakBytes"] for a, m in peaks.items()},
        "peakMeasuredFromRunStart": can_reset,
        "workersAtEnd": workers_left,
        "checks": checks,
    }


def run(options: Options, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Every section asked for; returns the record (`bench.report` prints and saves it)."""
    started = time.time()
    record: dict[str, Any] = {"options": options, "measurements": {}, "scaling": None}
    sizes = sorted(set(options.sizes) | {options.rows}) if "sweep" in options.sections else []
    folders = {
        rows: ensure_dataset(options.data_dir, rows, progress=options.progress)
        for rows in sorted({options.rows, *sizes})
    }
    if "whole" in options.sections:
        log(f"{options.rows:,} rows, whole job as processes (headline)")
        record["whole"] = whole.measure(
            folders[options.rows], options.repeat, options.workers, options.duckdb_threads, log
        )
    if {"main", "sweep", "scaling"} & set(options.sections):
        with cluster.local_cluster(options.workers) as client:
            wanted = sizes if "sweep" in options.sections else [options.rows]
            for rows in wanted:
                log(f"{rows:,} rows, {options.workers} workers")
                record["measurements"][rows] = measure(folders[rows], client, options, log=log)
    if "scaling" in options.sections:
        with cluster.local_cluster(1) as client:
            log(f"{options.rows:,} rows, 1 worker")
            one = measure(
                folders[options.rows],
                client,
                options,
                engines_to_run=("job",),
                check=False,
                log=log,
            )
        record["scaling"] = {"oneWorker": one.best["job"], "runs": one.runs["job"]}
    if "memory" in options.sections:
        record["memory"] = run_memory(options, log)
    record["seconds"] = round(time.time() - started, 1)
    return record
