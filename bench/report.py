"""The benchmark's printed table, its targets, and the JSON record."""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench import agree, runner
from bench.engines import Result
from bench.machine import describe_machine

ENGINE_LABELS = {
    "floor": "pyarrow floor (read columns)",
    "duckdb": "duckdb, exact quartiles",
    "duckdb-approx": "duckdb, approx quartiles",
    "job": "dask job",
}
TARGETS = {
    "jobVsDuckdb": 1.5,  # at most
    "jobVsFloor": 3.0,  # at most
    "growthExponent": 1.0,  # at most: time ~ rows^exponent
    "speedupTwoWorkers": 1.6,  # at least, on the compute stages
}


def growth_exponent(points: list[tuple[int, float]]) -> float | None:
    """Least-squares slope of log(time) against log(rows): 1.0 is linear growth."""
    if len(points) < 2:
        return None
    xs = [math.log(rows) for rows, _ in points]
    ys = [math.log(seconds) for _, seconds in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / spread


def _result(result: Result) -> dict[str, Any]:
    return {
        "engine": result.engine,
        "rows": result.rows,
        "seconds": {k: round(v, 4) for k, v in result.seconds.items()},
        "totalSeconds": round(result.total, 4),
        **({"extra": result.extra} if result.extra else {}),
    }


def _checks(checks: list[agree.Check]) -> dict[str, Any]:
    failed = agree.failures(checks)
    return {
        "passed": len(checks) - len(failed),
        "failed": [asdict(c) for c in failed],
        "quartiles": [asdict(c) for c in checks if "%" in c.name],
    }


def build(record: dict[str, Any]) -> dict[str, Any]:
    """The JSON-ready record with ratios, growth, scaling and target verdicts."""
    options: runner.Options = record["options"]
    measurements: dict[int, runner.Measurement] = record["measurements"]
    out: dict[str, Any] = {
        "machine": describe_machine(),
        "method": {
            "cache": "warm: every file read once before timing",
            "repeat": options.repeat,
            "kept": "fastest run of each engine",
            "workers": options.workers,
            "threadsPerWorker": 1,
            "duckdbThreads": options.duckdb_threads,
            "sketchSize": options.sketch_size,
            "clusterStartIncluded": False,
        },
        "sizes": [],
    }
    for rows, m in sorted(measurements.items()):
        entry: dict[str, Any] = {
            "rows": rows,
            "files": m.files,
            "engines": {key: _result(r) for key, r in m.best.items()},
            "runs": m.runs,
            "checks": _checks(m.checks),
        }
        job = m.best.get("job")
        if job is not None:
            duckdb = min(
                (m.best[k].total for k in ("duckdb", "duckdb-approx") if k in m.best),
                default=None,
            )
            entry["jobVsDuckdb"] = round(job.total / duckdb, 3) if duckdb else None
            entry["jobVsDuckdbExact"] = (
                round(job.total / m.best["duckdb"].total, 3) if "duckdb" in m.best else None
            )
            entry["jobVsFloor"] = (
                round(job.total / m.best["floor"].total, 3) if "floor" in m.best else None
            )
            # Medians over all runs: context for a shared machine, where the fastest run of
            # a short engine can be an outlier.
            medians = {key: statistics.median(runs) for key, runs in m.runs.items()}
            entry["medianRatios"] = {
                f"jobVs{key.title().replace('-', '')}": round(medians["job"] / medians[key], 3)
                for key in medians
                if key != "job"
            }
        out["sizes"].append(entry)
    main = next((s for s in out["sizes"] if s["rows"] == options.rows), None)
    targets: dict[str, Any] = {}
    if main is not None and "jobVsDuckdb" in main:
        targets["jobVsDuckdb"] = [main["jobVsDuckdb"], TARGETS["jobVsDuckdb"]]
        targets["jobVsFloor"] = [main["jobVsFloor"], TARGETS["jobVsFloor"]]
    if len(out["sizes"]) > 1:
        points = [(s["rows"], s["engines"]["job"]["totalSeconds"]) for s in out["sizes"]]
        exponent = growth_exponent(points)
        out["growth"] = {
            "jobSecondsByRows": dict(points),
            "exponent": round(exponent, 3) if exponent is not None else None,
        }
        targets["growthExponent"] = [out["growth"]["exponent"], TARGETS["growthExponent"]]
    if record.get("scaling") and main is not None:
        one: Result = record["scaling"]["oneWorker"]
        two = measurements[options.rows].best["job"]
        speedup = runner.compute_seconds(one) / runner.compute_seconds(two)
        out["scaling"] = {
            "rows": options.rows,
            "oneWorker": _result(one),
            "oneWorkerRuns": record["scaling"]["runs"],
            "twoWorkers": _result(two),
            "computeStages": list(runner.COMPUTE_STAGES),
            "speedupComputeStages": round(speedup, 3),
            "speedupTotal": round(one.total / two.total, 3),
        }
        targets["speedupTwoWorkers"] = [round(speedup, 3), TARGETS["speedupTwoWorkers"]]
    if record.get("memory"):
        memory = dict(record["memory"])
        memory["checks"] = _checks(memory["checks"])
        out["memory"] = memory
    if record.get("whole"):  # the headline targets: the whole job as a user runs it
        targets["wholeJobVsDuckdb"] = [record["whole"]["jobVsDuckdb"], 0.9]
        targets["wholeJobVsFloor"] = [record["whole"]["jobVsFloor"], 2.0]
    out["targets"] = {
        name: {
            "value": value,
            "target": f"{'>=' if name == 'speedupTwoWorkers' else '<='} {limit}",
            "met": value is not None
            and (value >= limit if name == "speedupTwoWorkers" else value <= limit),
        }
        for name, (value, limit) in targets.items()
    }
    if record.get("whole"):
        out["whole"] = record["whole"]
    whole_ok = all(c["ok"] for c in out.get("whole", {}).get("checks", []))
    out["agreement"] = (
        whole_ok
        and all(not s["checks"]["failed"] for s in out["sizes"])
        and not (out.get("memory", {}).get("checks", {}).get("failed"))
    )
    out["seconds"] = record.get("seconds")
    return out


def _gib(value: float) -> str:
    return f"{value / 2**30:.2f} GiB"


def render(out: dict[str, Any]) -> str:
    """The human-readable tables."""
    lines: list[str] = []
    m = out["machine"]
    lines.append(
        f"machine: {m['cpuModel']}, {m['cpus']} CPUs, {_gib(m['memoryBytes'] or 0)}; "
        f"load average {', '.join(f'{x:.1f}' for x in m['loadAverage'])}"
    )
    method = out["method"]
    lines.append(
        f"method: {method['cache']}; fastest of {method['repeat']} runs; dask "
        f"{method['workers']} workers x 1 thread; duckdb {method['duckdbThreads']} threads"
    )
    for size in out["sizes"]:
        lines.append("")
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
        checks = size["checks"]
        verdict = "all agree" if not checks["failed"] else f"{len(checks['failed'])} FAILED"
        lines.append(f"  agreement: {checks['passed']} checks passed, {verdict}")
        for failed in checks["failed"]:
            lines.append(f"    FAILED {failed['name']}: {failed['detail']}")
    if "growth" in out:
        growth = out["growth"]
        per = ", ".join(f"{r / 1e6:g}M {s:.2f}s" for r, s in growth["jobSecondsByRows"].items())
        lines += ["", f"growth with rows (job total): {per}; exponent {growth['exponent']}"]
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
            f"memory run: {mem['rows']:,} rows (~{_gib(mem['datasetInMemoryBytes'])} in memory) "
            f"on {mem['workers']} x {mem['memoryLimitPerWorker']} "
            f"(combined {_gib(mem['combinedLimitBytes'])}): {mem['totalSeconds']:.2f}s, "
            f"{_gib(spilled)} spilled, peak worker memory {peaks}, "
            f"{mem['checks']['passed']} checks passed, {len(mem['checks']['failed'])} failed"
        )
    if "whole" in out:
        w = out["whole"]
        m = w["medianSeconds"]
        lines += [
            "",
            f"whole job (processes, median of {w['repeat']}), {w['rows']:,} rows: "
            f"job {m['job']:.2f}s, duckdb {m['duckdb']:.2f}s, floor {m['floor']:.2f}s; "
            f"job/duckdb {w['jobVsDuckdb']:.2f}x, job/floor {w['jobVsFloor']:.2f}x",
        ]
        for check in w["checks"]:
            verdict = "agree" if check["ok"] else "DISAGREE"
            lines.append(f"  {check['name']}: {verdict} ({check['detail']})")
    if out["targets"]:
        lines += ["", "targets:"]
        for name, t in out["targets"].items():
            lines.append(
                f"  {name:<20} {t['value']!s:>8}  {t['target']:<8} "
                f"{'met' if t['met'] else 'NOT MET'}"
            )
    return "\n".join(lines)


def save(out: dict[str, Any], path: Path) -> None:
    """Write the record as JSON (written whole to a temporary file, then renamed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".partial")
    partial.write_text(json.dumps(out, indent=2, default=str) + "\n")
    partial.replace(path)
