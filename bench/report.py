"""The benchmark's printed table, its targets, and the JSON record."""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench import agree, memory, stages
from bench.machine import describe_machine
from bench.options import Options

# name: (comparison, limit). Whole-process figures, medians of --repeat runs.
TARGETS: dict[str, tuple[str, float]] = {
    "wholeJobVsDuckdb": ("<=", 0.9),
    "wholeJobVsFloor": ("<=", 2.0),
    "shapeJobVsDuckdb": ("<=", 0.9),
    "shapeJobVsFloor": ("<=", 2.0),
    "overheadJobSeconds": ("<=", 3.0),
    "growthExponent": ("<=", 1.05),  # time ~ rows^exponent
    "memoryExitCode": ("==", 0),
    "memoryWorkersLost": ("==", 0),
    "memorySpilledShareOfDisk": ("<=", memory.SPILL_SHARE_LIMIT),
    "memoryPeakWorkerShareOfLimit": ("<=", 1.0),
}
THREE_WAY_SECTIONS = ("whole", "shape", "overhead")


def growth_exponent(points: list[tuple[int, float]]) -> float | None:
    """Least-squares slope of log(time) against log(rows): 1.0 is linear growth."""
    if len(points) < 2:
        return None
    xs = [math.log(rows) for rows, _ in points]
    ys = [math.log(seconds) for _, seconds in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / spread


def verdict(value: float | None, comparison: str, limit: float) -> bool | None:
    """Whether `value` meets the target; None when it was not measured or not reported."""
    if value is None:
        return None
    return value == limit if comparison == "==" else value <= limit


def _checks(section: dict[str, Any]) -> dict[str, Any]:
    """A section with its checks as JSON and an `agree` flag."""
    checks: list[agree.Check] = section.get("checks", [])
    return {**section, "checks": [asdict(c) for c in checks], "agree": not agree.failures(checks)}


def memory_values(mem: dict[str, Any]) -> dict[str, float | None]:
    """The memory section's target values; None where the job did not report a figure."""
    peaks = mem.get("peakWorkerBytes")
    spilled = mem.get("spilledBytesTotal")
    disk = mem["dataset"]["bytesOnDisk"]
    return {
        "memoryExitCode": mem["exitCode"],
        "memoryWorkersLost": mem.get("workersLost"),
        "memorySpilledShareOfDisk": None if spilled is None else round(spilled / disk, 4),
        "memoryPeakWorkerShareOfLimit": (
            round(max(peaks.values()) / mem["memoryLimitBytes"], 3) if peaks else None
        ),
    }


def target_values(out: dict[str, Any]) -> dict[str, float | None]:
    """Each target's measured value, for the sections that ran."""
    values: dict[str, float | None] = {}
    for section in ("whole", "shape"):
        if section in out:
            values[f"{section}JobVsDuckdb"] = out[section]["jobVsDuckdb"]
            values[f"{section}JobVsFloor"] = out[section]["jobVsFloor"]
    if "overhead" in out:
        values["overheadJobSeconds"] = out["overhead"]["medianSeconds"]["job"]
    if "growth" in out:
        values["growthExponent"] = out["growth"]["exponent"]
    if "memory" in out:
        values.update(memory_values(out["memory"]))
    return values


def build(record: dict[str, Any]) -> dict[str, Any]:
    """The JSON-ready record: every run, medians, checks, targets and their verdicts."""
    options: Options = record["options"]
    out: dict[str, Any] = {
        "commandLine": record["commandLine"],
        "machine": describe_machine(),
        "method": {
            "timed": "each contender a fresh process, from start to exit",
            "order": "alternated: job, duckdb, floor, job, ...",
            "repeat": options.repeat,
            "kept": "median of the runs",
            "workers": options.workers,
            "threadsPerWorker": 1,
            "duckdbThreads": options.duckdb_threads,
            "sketchSize": options.sketch_size,
            "clusterStartIncluded": True,
        },
        "options": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(options).items()},
    }
    for section in (*THREE_WAY_SECTIONS, "growth", "memory"):
        if section in record:
            out[section] = _checks(record[section])
    if "stages" in record:
        out["stages"] = record["stages"]
    out["targets"] = {
        name: {
            "value": value,
            "target": f"{TARGETS[name][0]} {TARGETS[name][1]}",
            "met": verdict(value, *TARGETS[name]),
        }
        for name, value in target_values(out).items()
    }
    sections = [out[s] for s in (*THREE_WAY_SECTIONS, "growth", "memory") if s in out]
    out["agreement"] = all(s["agree"] for s in sections) and out.get("stages", {}).get(
        "agreement", True
    )
    out["seconds"] = record.get("seconds")
    return out


def _gib(value: float) -> str:
    return f"{value / 2**30:.2f}"


def _peaks(peaks: dict[str, int] | None) -> str:
    return ", ".join(_gib(v) for v in peaks.values()) + " GiB" if peaks else "not reported"


def _agreement_line(label: str, section: dict[str, Any]) -> list[str]:
    failed = [c for c in section["checks"] if not c["ok"]]
    verdict_text = "all agree" if not failed else f"{len(failed)} DISAGREE"
    lines = [f"  agreement, {label}: {len(section['checks'])} checks, {verdict_text}"]
    return lines + [f"    DISAGREE {c['name']}: {c['detail']}" for c in failed]


def three_way_table(out: dict[str, Any]) -> list[str]:
    """One line per dataset: medians, ratios, the job's peak memory per worker."""
    header = (
        f"  {'dataset':<9}{'rows':>12}{'floor s':>9}{'DuckDB s':>10}{'job s':>8}"
        f"{'job/DuckDB':>12}{'job/floor':>11}  peak RSS per worker"
    )
    lines = [header]
    for name in ("whole", "shape"):
        if name not in out:
            continue
        s = out[name]
        m = s["medianSeconds"]
        lines.append(
            f"  {s['dataset']['shape']:<9}{s['rows']:>12,}{m['floor']:>9.2f}{m['duckdb']:>10.2f}"
            f"{m['job']:>8.2f}{s['jobVsDuckdb']:>12.2f}{s['jobVsFloor']:>11.2f}  "
            f"{_peaks(s['peakWorkerBytes'])}"
        )
    for name in ("whole", "shape"):
        if name in out:
            lines += _agreement_line(
                f"{out[name]['dataset']['shape']} {out[name]['rows']:,}", out[name]
            )
    return lines


def overhead_lines(s: dict[str, Any]) -> list[str]:
    """The job on a trivial input, with DuckDB and the floor for context."""
    m = s["medianSeconds"]
    return [
        f"overhead, {s['rows']:,} taxi rows: job {m['job']:.2f} s "
        f"(DuckDB {m['duckdb']:.2f} s, floor {m['floor']:.2f} s)",
        *_agreement_line("overhead", s),
    ]


def growth_lines(s: dict[str, Any]) -> list[str]:
    """The job's median at each size and the fitted exponent."""
    per = ", ".join(
        f"{p['rows']:,} {p['medianSeconds']:.2f} s{' (reused)' if p['reused'] else ''}"
        for p in s["sizes"]
    )
    return [f"growth, job alone: {per}; exponent {s['exponent']}"]


def memory_lines(s: dict[str, Any]) -> list[str]:
    """The memory run: completed or not, peak and spilled memory per worker, workers lost."""
    spilled = s.get("spilledBytes")
    spilled_text = (
        ", ".join(_gib(v) for v in spilled.values()) + " GiB" if spilled else "not reported"
    )
    lines = [
        f"memory, {s['rows']:,} taxi rows ({_gib(s['dataset']['bytesOnDisk'])} GiB on disk) on "
        f"{s['workers']} workers x {s['memoryLimitPerWorker']}: exit {s['exitCode']}, "
        f"{s['seconds']:.2f} s; peak RSS per worker {_peaks(s['peakWorkerBytes'])}; "
        f"spilled per worker {spilled_text}; workers lost "
        f"{'not reported' if s['workersLost'] is None else s['workersLost']}",
    ]
    if s["exitCode"]:
        lines.append(f"  the job failed: {s['stderrTail'][-500:]}")
    return lines + _agreement_line("memory (rows, drops vs a DuckDB count)", s)


def target_lines(targets: dict[str, Any]) -> list[str]:
    """Each target's value, bound and verdict."""
    lines = ["targets:"]
    for name, t in targets.items():
        met = {True: "met", False: "NOT MET", None: "not measured (value not reported)"}[t["met"]]
        lines.append(f"  {name:<30} {t['value']!s:>10}  {t['target']:<8} {met}")
    return lines


def render(out: dict[str, Any]) -> str:
    """The human-readable tables."""
    m = out["machine"]
    method = out["method"]
    lines = [
        f"machine: {m['cpuModel']}, {m['cpus']} CPUs, {_gib(m['memoryBytes'] or 0)} GiB; "
        f"load average {', '.join(f'{x:.1f}' for x in m['loadAverage'])}",
    ]
    if any(section in out for section in (*THREE_WAY_SECTIONS, "growth", "memory")):
        lines.append(
            f"method: each contender a fresh process, alternated, median of {method['repeat']}; "
            f"job {method['workers']} workers x 1 thread; DuckDB {method['duckdbThreads']} "
            "threads"
        )
    if "whole" in out or "shape" in out:
        lines += ["", "Whole job as a user runs it (seconds, median)", *three_way_table(out)]
    if "overhead" in out:
        lines += overhead_lines(out["overhead"])
    if "growth" in out:
        lines += growth_lines(out["growth"])
    if "memory" in out:
        lines += memory_lines(out["memory"])
    if "stages" in out:
        lines += stages.render(out["stages"])
    if out["targets"]:
        lines += ["", *target_lines(out["targets"])]
    return "\n".join(lines)


def save(out: dict[str, Any], path: Path) -> None:
    """Write the record as JSON (written whole to a temporary file, then renamed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".partial")
    partial.write_text(json.dumps(out, indent=2, default=str) + "\n")
    partial.replace(path)
