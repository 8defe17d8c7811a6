"""The stage-level diagnostic (`python -m bench --only stages`): not what a user waits for.

Each engine runs in this process on a warm Dask cluster started beforehand (cluster start-up,
process start and the prepared dataset are not counted): the floor reads the job's columns;
DuckDB computes the figures with exact and with approximate quartiles; the job runs
`jobs.analysis` without writing the prepared dataset, timed by its own stages. Useful to see
where the job's time goes; the headline is `bench.whole`.

Sections: `main` (the table at --rows), `sweep` (--sizes), `scaling` (1 vs 2 workers) and
`stages-memory` (the analysis in process on --memory-rows with --memory-limit per worker).
Each measurement keeps an engine's fastest of `repeat` runs.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench import agree, cluster, engines
from bench.dataset import ensure_dataset
from bench.options import Options
from jobs.data import Location, inspect_parquet

SECTIONS = ("main", "sweep", "scaling", "stages-memory")
COMPUTE_STAGES = ("pass", "count", "describe", "daily_means")
ENGINE_LABELS = {
    "floor": "pyarrow floor (read columns)",
    "duckdb": "duckdb, exact quartiles",
    "duckdb-approx": "duckdb, approx quartiles",
    "job": "dask job",
}


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
    options: Options,
    *,
    engines_to_run: tuple[str, ...] = ("floor", "duckdb", "duckdb-approx", "job"),
    check: bool = True,
    log: Callable[[str], None] = print,
) -> Measurement:
    """Time the engines on `folder` (on the current Dask client), fastest of `repeat` runs
    each; check agreement."""
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
    """The analysis in this process on a dataset larger than the workers' combined memory
    limit: peak and spilled bytes per worker after the pass, and the checks."""
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
            f"  stage memory run: {options.memory_rows:,} rows, "
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
    return {
        "rows": job.rows,
        "workers": options.workers,
        "memoryLimitPerWorker": options.memory_limit,
        "combinedLimitBytes": limit,
        "seconds": {k: round(v, 4) for k, v in job.seconds.items()},
        "totalSeconds": round(job.total, 4),
        "spilledBytesAfterPass": {a: m["spilledBytes"] for a, m in after_pass.items()},
        "peakWorkerBytes": {a: m["peakBytes"] for a, m in peaks.items()},
        "peakMeasuredFromRunStart": can_reset,
        "workersAtEnd": workers_left,
        "checks": checks,
    }


def run(options: Options, log: Callable[[str], None] = print) -> dict[str, Any]:
    """The diagnostic sections asked for; the record `summarise` turns into JSON."""
    record: dict[str, Any] = {"measurements": {}, "scaling": None, "memory": None}
    wanted = set(options.sections)
    sizes = sorted(set(options.sizes) | {options.rows}) if "sweep" in wanted else [options.rows]
    if {"main", "sweep", "scaling"} & wanted:
        folders = {
            rows: ensure_dataset(options.data_dir, rows, progress=options.progress)
            for rows in sizes
        }
        with cluster.local_cluster(options.workers):  # the engines use the current client
            for rows in sizes:
                log(f"stages: {rows:,} rows, {options.workers} workers (warm cluster)")
                record["measurements"][rows] = measure(folders[rows], options, log=log)
    if "scaling" in wanted:
        with cluster.local_cluster(1):
            log(f"stages: {options.rows:,} rows, 1 worker")
            one = measure(
                folders[options.rows], options, engines_to_run=("job",), check=False, log=log
            )
        record["scaling"] = {"oneWorker": one.best["job"], "runs": one.runs["job"]}
    if "stages-memory" in wanted:
        record["memory"] = run_memory(options, log)
    return record


def _result(result: engines.Result) -> dict[str, Any]:
    return {
        "engine": result.engine,
        "rows": result.rows,
        "seconds": {k: round(v, 4) for k, v in result.seconds.items()},
        "totalSeconds": round(result.total, 4),
        **({"extra": result.extra} if result.extra else {}),
    }


def checks_record(checks: list[agree.Check]) -> dict[str, Any]:
    """Passed count, the failures, and the quartile checks (their details say how close)."""
    failed = agree.failures(checks)
    return {
        "passed": len(checks) - len(failed),
        "failed": [asdict(c) for c in failed],
        "quartiles": [asdict(c) for c in checks if "%" in c.name],
    }


def _size(rows: int, m: Measurement) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "rows": rows,
        "files": m.files,
        "engines": {key: _result(r) for key, r in m.best.items()},
        "runs": m.runs,
        "checks": checks_record(m.checks),
    }
    job = m.best.get("job")
    if job is None:
        return entry
    for key in ("floor", "duckdb", "duckdb-approx"):
        if key in m.best:
            name = f"jobVs{key.title().replace('-', '')}"
            entry[name] = round(job.total / m.best[key].total, 3)
    # Medians over all runs: context for a shared machine, where the fastest run of a
    # short engine can be an outlier.
    medians = {key: statistics.median(runs) for key, runs in m.runs.items()}
    entry["medianRatios"] = {
        f"jobVs{key.title().replace('-', '')}": round(medians["job"] / medians[key], 3)
        for key in medians
        if key != "job"
    }
    return entry


def summarise(record: dict[str, Any], options: Options) -> dict[str, Any]:
    """The JSON-ready diagnostic: per size, growth, scaling and the in-process memory run."""
    from bench.report import growth_exponent

    measurements: dict[int, Measurement] = record["measurements"]
    out: dict[str, Any] = {
        "method": "in process, warm cluster and page cache, fastest of repeat runs; "
        "cluster start, process start and the prepared dataset not counted",
        "sizes": [_size(rows, m) for rows, m in sorted(measurements.items())],
    }
    if len(out["sizes"]) > 1:
        points = [(s["rows"], s["engines"]["job"]["totalSeconds"]) for s in out["sizes"]]
        exponent = growth_exponent(points)
        out["growth"] = {
            "jobSecondsByRows": dict(points),
            "exponent": round(exponent, 3) if exponent is not None else None,
        }
    if record.get("scaling"):
        one: engines.Result = record["scaling"]["oneWorker"]
        two = measurements[options.rows].best["job"]
        out["scaling"] = {
            "rows": options.rows,
            "oneWorker": _result(one),
            "oneWorkerRuns": record["scaling"]["runs"],
            "twoWorkers": _result(two),
            "computeStages": list(COMPUTE_STAGES),
            "speedupComputeStages": round(compute_seconds(one) / compute_seconds(two), 3),
            "speedupTotal": round(one.total / two.total, 3),
        }
    if record.get("memory"):
        out["memory"] = {**record["memory"], "checks": checks_record(record["memory"]["checks"])}
    out["agreement"] = all(not s["checks"]["failed"] for s in out["sizes"]) and not (
        out.get("memory", {}).get("checks", {}).get("failed")
    )
    return out


def _gib(value: float) -> str:
    return f"{value / 2**30:.2f} GiB"


def render(out: dict[str, Any]) -> list[str]:
    """The diagnostic's printed lines, under a heading that says what it is not."""
    lines = ["", "Stages (diagnostic, warm cluster, not what a user waits for)"]
    for size in out["sizes"]:
        lines.append(f"{size['rows']:,} rows in {size['files']} files")
        lines.append(f"  {'engine':<30}{'total s':>9}  {'job/this':>8}  stages (s)")
        job = size["engines"].get("job")
        for key, result in size["engines"].items():
            ratio = job["totalSeconds"] / result["totalSeconds"] if job else float("nan")
            stages = ", ".join(f"{k} {v:.2f}" for k, v in result["seconds"].items())
            label = ENGINE_LABELS.get(key, key)
            lines.append(f"  {label:<30}{result['totalSeconds']:>9.2f}  {ratio:>8.2f}  {stages}")
        if size.get("medianRatios"):
            medians = ", ".join(f"{k} {v:.2f}" for k, v in size["medianRatios"].items())
            lines.append(f"  median-run ratios: {medians}")
        lines += _check_lines(size["checks"])
    if "growth" in out:
        growth = out["growth"]
        per = ", ".join(f"{r:,} {s:.2f}s" for r, s in growth["jobSecondsByRows"].items())
        lines.append(f"growth with rows (job stages): {per}; exponent {growth['exponent']}")
    if "scaling" in out:
        s = out["scaling"]
        lines.append(
            f"workers at {s['rows']:,} rows: 1 worker {s['oneWorker']['totalSeconds']:.2f}s, "
            f"2 workers {s['twoWorkers']['totalSeconds']:.2f}s; speed-up on "
            f"{'+'.join(s['computeStages'])} {s['speedupComputeStages']:.2f}x"
        )
    if "memory" in out:
        mem = out["memory"]
        peaks = ", ".join(_gib(v) for v in mem["peakWorkerBytes"].values())
        spilled = sum(mem["spilledBytesAfterPass"].values())
        lines.append(
            f"stage memory run: {mem['rows']:,} rows on {mem['workers']} x "
            f"{mem['memoryLimitPerWorker']}: {mem['totalSeconds']:.2f}s, {_gib(spilled)} "
            f"spilled, peak worker memory {peaks}"
        )
        lines += _check_lines(mem["checks"])
    return lines


def _check_lines(checks: dict[str, Any]) -> list[str]:
    verdict = "all agree" if not checks["failed"] else f"{len(checks['failed'])} FAILED"
    lines = [f"  agreement: {checks['passed']} checks passed, {verdict}"]
    return lines + [f"    FAILED {f['name']}: {f['detail']}" for f in checks["failed"]]
