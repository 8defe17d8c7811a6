"""The memory section: the job as a process on a dataset several times larger than its
workers' combined memory limit. It must finish (exit 0) without losing a worker, without a
spill storm, and with every worker's peak resident memory within its limit.

What the workers did comes from the job's own summary.json `cluster` object (`workers`,
`peakMemoryBytes`, `spilledBytes`, `workersLost`); a figure missing from a summary (one written
before the job reported it) is recorded as null, never guessed. Rows and drops are checked,
untimed, against a DuckDB count over the same files (no describe: exact quartiles take
minutes at this size).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
from dask.utils import parse_bytes

from bench import agree, duckdb_pipeline, whole

# A spill storm: the workers spilled more than this share of the dataset's size on disk.
# The one-pass job holds only a few partitions per worker, so it should barely spill at all;
# a tenth of the parquet files' size is a generous allowance for partitions caught in flight.
SPILL_SHARE_LIMIT = 0.10


def duckdb_counts(spec: dict[str, Any]) -> tuple[int, int]:
    """Rows and rows breaking any drop rule, by DuckDB over the same files."""
    source = f"read_parquet('{spec['input']}/**/*.parquet', hive_partitioning = false)"
    with duckdb.connect(config={"threads": spec["threads"]}) as con:
        con.execute("SET enable_progress_bar = false")
        row = con.execute(f"SELECT count(*) FROM {source}").fetchone()
        dropped, _ = duckdb_pipeline.drop_counts(con, source, spec["rules"])
    assert row is not None
    return int(row[0]), dropped


def summed(per_worker: dict[str, int] | None) -> int | None:
    """The total over workers, or None when the job did not report the figure."""
    return None if per_worker is None else sum(int(v) for v in per_worker.values())


def memory_checks(
    dataset: whole.Dataset, run: whole.ProcessRun | None, spec: dict[str, Any]
) -> list[agree.Check]:
    """Rows, drops and rows written against DuckDB's count; none when the job failed (a
    failed run is a target not met, not a disagreement)."""
    if run is None:
        return []
    rows, dropped = duckdb_counts(spec)
    return [
        agree.Check("rows", run.rows == rows == dataset.rows, f"job {run.rows}, duckdb {rows}"),
        agree.Check("rowsDropped", run.dropped == dropped, f"job {run.dropped}, duckdb {dropped}"),
        agree.Check(
            "rowsWritten",
            run.written == rows - dropped,
            f"job wrote {run.written}, duckdb counts {rows - dropped} valid",
        ),
    ]


def measure(
    dataset: whole.Dataset,
    workers: int,
    memory_limit: str,
    threads: int,
    sketch_size: int,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """One run of the job under `memory_limit` per worker; what it reports, and checks."""
    spec = whole.pipeline_spec(dataset, threads)
    limit = int(parse_bytes(memory_limit))
    log(f"  memory: {dataset.rows:,} rows on {workers} workers x {memory_limit}")
    scratch = Path(tempfile.mkdtemp(prefix="bench-memory-"))
    try:
        output = scratch / "out"
        command = whole.job_command(spec, output, workers, sketch_size, memory_limit)
        seconds, done = whole.run_process(command)
        run = whole.read_job_run(seconds, output) if done.returncode == 0 else None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    log(f"  memory: job exited {done.returncode} after {seconds:.2f} s")
    cluster: dict[str, Any] = run.summary.get("cluster", {}) if run else {}
    spilled = cluster.get("spilledBytes")
    return {
        "dataset": dataset.record(),
        "rows": dataset.rows,
        "workers": workers,
        "memoryLimitPerWorker": memory_limit,
        "memoryLimitBytes": limit,
        "combinedLimitBytes": limit * workers,
        "exitCode": done.returncode,
        "stderrTail": done.stderr[-2000:] if done.returncode else "",
        "seconds": round(seconds, 3),
        "jobStages": run.summary.get("timings", {}) if run else {},
        "workersReported": cluster.get("workers"),
        "peakWorkerBytes": cluster.get("peakMemoryBytes"),
        "spilledBytes": spilled,
        "spilledBytesTotal": summed(spilled),
        "workersLost": cluster.get("workersLost"),
        "checks": memory_checks(dataset, run, spec),
    }
