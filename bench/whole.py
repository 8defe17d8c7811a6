"""The whole-job benchmark: what a user waits for, each contender a fresh process.

- the job: `python -m jobs run --input DIR --output OUT` (cluster start, one pass, report,
  prepared dataset committed, cluster stop);
- DuckDB (a fixed number of threads): the same pipeline in SQL: row count, describe with
  exact quartiles, daily means, and the prepared dataset (the job's drop rules, its derived
  taxi columns) written as parquet partitioned by year and month;
- the floor: pyarrow reads every column the job reads and writes them partitioned the same
  way, nothing else.

Runs are alternated (job, DuckDB, floor, job, ...) so a noisy neighbour hits all alike; the
median of `repeat` runs is kept. Results must agree: rows, rows dropped, rows written.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jobs import analysis, prepare
from jobs.data import Location, inspect_parquet

REPOSITORY_ROOT = Path(__file__).resolve().parent.parent

_DUCKDB = r"""
import json, sys, duckdb
spec = json.loads(sys.argv[1])
q = lambda c: '"' + c.replace('"', '""') + '"'
src = f"read_parquet('{spec['input']}/**/*.parquet', hive_partitioning = false)"
t = q(spec["time"])
invalid = [f"{t} IS NULL"]
invalid += [f"NOT coalesce(isfinite({q(c)}::DOUBLE), false)" for c in spec["finite"]]
if spec["taxi"]:
    p, d = q("tpepPickupDateTime"), q("tpepDropoffDateTime")
    invalid += [
        f"coalesce({q('passengerCount')} <= 0, false)",
        f"coalesce({q('tripDistance')} <= 0, false)",
        f"NOT coalesce({d} > {p}, false)",
        f"coalesce({q('fareAmount')} < 0, false)",
    ]
bad = " OR ".join(invalid)
con = duckdb.connect(config={"threads": spec["threads"]})
con.execute("SET enable_progress_bar = false")
rows = con.execute(f"SELECT count(*) FROM {src}").fetchone()[0]
figures = []
for c in spec["numeric"]:
    figures += [f"count({q(c)})", f"avg({q(c)})", f"stddev_samp({q(c)})", f"min({q(c)})",
                f"quantile_cont({q(c)}, [0.25, 0.5, 0.75])", f"max({q(c)})"]
con.execute(f"SELECT {', '.join(figures)} FROM {src}").fetchone()
means = ", ".join(f"avg({q(c)})" for c in spec["numeric"])
days = con.execute(
    f"SELECT date_trunc('day', {t}), {means} FROM {src} WHERE {t} IS NOT NULL GROUP BY 1"
).fetchall()
dropped = con.execute(f"SELECT count(*) FROM {src} WHERE {bad}").fetchone()[0]
columns = ", ".join(q(c) for c in spec["read"])
derived = ""
if spec["taxi"]:
    minutes = f"(epoch({d}) - epoch({p})) / 60.0"
    names = spec["derived"]
    derived = (
        f", {minutes} AS {q(names['tripDurationMinutes'])}"
        f", {q('tipAmount')} / CASE WHEN {q('fareAmount')} > 0 THEN {q('fareAmount')} END * 100"
        f" AS {q(names['tipPercent'])}"
        f", {q('tripDistance')} / ({minutes} / 60.0) AS {q(names['averageSpeedMph'])}"
    )
year, month = (q(c) for c in spec["partitionedBy"])
con.execute(
    f"COPY (SELECT {columns}{derived}, year({t}) AS {year}, month({t}) AS {month} "
    f"FROM {src} WHERE NOT ({bad})) TO '{spec['output']}' "
    f"(FORMAT parquet, PARTITION_BY ({year}, {month}))"
)
written = con.execute(f"SELECT count(*) FROM read_parquet('{spec['output']}/**/*.parquet')")
print(json.dumps({"rows": rows, "dropped": dropped, "written": written.fetchone()[0],
                  "days": len(days)}))
"""

_FLOOR = r"""
import json, sys
import pyarrow.compute as pc, pyarrow.dataset as ds
spec = json.loads(sys.argv[1])
table = ds.dataset(spec["input"], format="parquet").to_table(columns=spec["read"])
time = table[spec["time"]]
year, month = spec["partitionedBy"]
table = table.append_column(year, pc.year(time)).append_column(month, pc.month(time))
ds.write_dataset(table, spec["output"], format="parquet", partitioning=[year, month],
                 partitioning_flavor="hive")
print(json.dumps({"rows": table.num_rows}))
"""


def pipeline_spec(folder: Path, threads: int) -> dict[str, Any]:
    """What the job would read and do on `folder`, from the project's own planner (so the
    contenders use the same columns and drop rules)."""
    info = inspect_parquet(Location(str(folder)))
    options = analysis.AnalysisOptions()
    numeric = analysis.plan_columns(info, options).numeric_columns
    plan = analysis.plan_columns(info, options, analysis.missing_shares(info, numeric))
    return {
        "input": str(folder),
        "time": plan.time_column,
        "numeric": plan.numeric_columns,
        "finite": plan.finite_columns,
        "read": plan.read_columns,
        "taxi": plan.taxi,
        "derived": plan.derived,
        "partitionedBy": list(plan.partitioned_by),
        "threads": threads,
        "rules": [rule.name for rule in prepare.rules_for(plan.time_column, [], plan.taxi)],
    }


def _timed(command: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=REPOSITORY_ROOT, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{command[:4]} exited {done.returncode}: {done.stderr[-2000:]}")
    return seconds, done.stdout


def run_job(spec: dict[str, Any], output: Path, workers: int) -> dict[str, Any]:
    """`python -m jobs run` as a process; its figures from the committed summary.json."""
    command = [sys.executable, "-m", "jobs", "--quiet", "run", "--input", spec["input"]]
    command += ["--output", str(output), "--workers", str(workers)]
    seconds, _ = _timed(command)
    summary = json.loads((output / "summary.json").read_text())
    prepared = summary["prepared"]
    return {
        "seconds": seconds,
        "rows": summary["rows"],
        "dropped": prepared["rowsDropped"],
        "written": prepared["rowsOut"],
        "days": summary["dailyMeans"]["days"],
        "stages": summary["timings"],
        "peakWorkerBytes": summary["cluster"].get("peakMemoryBytes"),
    }


def run_duckdb(spec: dict[str, Any], output: Path) -> dict[str, Any]:
    """DuckDB's whole pipeline as a process."""
    seconds, stdout = _timed(
        [sys.executable, "-c", _DUCKDB, json.dumps({**spec, "output": str(output)})]
    )
    return {"seconds": seconds, **json.loads(stdout.strip().splitlines()[-1])}


def run_floor(spec: dict[str, Any], output: Path) -> dict[str, Any]:
    """The pyarrow floor as a process: read the job's columns, write them partitioned."""
    seconds, stdout = _timed(
        [sys.executable, "-c", _FLOOR, json.dumps({**spec, "output": str(output)})]
    )
    return {"seconds": seconds, **json.loads(stdout.strip().splitlines()[-1])}


def measure(
    folder: Path, repeat: int, workers: int, threads: int, log: Callable[[str], None] = print
) -> dict[str, Any]:
    """Alternate the three contenders `repeat` times on `folder`; medians, ratios, checks."""
    spec = pipeline_spec(folder, threads)
    runners: dict[str, Callable[[Path], dict[str, Any]]] = {
        "job": lambda out: run_job(spec, out, workers),
        "duckdb": lambda out: run_duckdb(spec, out),
        "floor": lambda out: run_floor(spec, out),
    }
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in runners}
    for attempt in range(1, repeat + 1):
        for name, runner in runners.items():
            scratch = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
            try:
                result = runner(scratch / "out")
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
            runs[name].append(result)
            log(f"  whole job  run {attempt}/{repeat}  {name:<7} {result['seconds']:8.2f} s")
    median = {name: statistics.median(r["seconds"] for r in rs) for name, rs in runs.items()}
    job, duck, floor = runs["job"][-1], runs["duckdb"][-1], runs["floor"][-1]
    checks = [
        {
            "name": "rows",
            "ok": job["rows"] == duck["rows"] == floor["rows"],
            "detail": f"job {job['rows']}, duckdb {duck['rows']}, floor {floor['rows']}",
        },
        {
            "name": "rowsDropped",
            "ok": job["dropped"] == duck["dropped"],
            "detail": f"job {job['dropped']}, duckdb {duck['dropped']}",
        },
        {
            "name": "rowsWritten",
            "ok": job["written"] == duck["written"],
            "detail": f"job {job['written']}, duckdb {duck['written']}",
        },
        {
            "name": "days",
            "ok": job["days"] == duck["days"],
            "detail": f"job {job['days']}, duckdb {duck['days']}",
        },
    ]
    return {
        "rows": job["rows"],
        "repeat": repeat,
        "medianSeconds": {k: round(v, 3) for k, v in median.items()},
        "jobVsDuckdb": round(median["job"] / median["duckdb"], 3),
        "jobVsFloor": round(median["job"] / median["floor"], 3),
        "jobStages": job["stages"],
        "peakWorkerBytes": job["peakWorkerBytes"],
        "runs": {k: [round(r["seconds"], 3) for r in rs] for k, rs in runs.items()},
        "checks": checks,
    }
