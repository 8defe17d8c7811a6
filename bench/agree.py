"""Do the engines agree? The rules, and the query that checks the job's approximate quartiles.

- row counts, per-column counts, minimum and maximum: exactly equal;
- means and standard deviations, overall and per day: within 1e-9 relative (plus 1e-12
  absolute, for figures that are zero up to rounding);
- daily groups: exactly the same days;
- quartiles: DuckDB's are exact; the job's come from a mergeable sketch whose documented
  bound (`jobs.stats`) is a rank error of at most N/k + P for N values, sketch size k and P
  partitions. The check asks DuckDB for the ranks the job's value occupies in the data and
  requires them to come within that bound of the exact quartile's rank q*(N-1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from bench.engines import Columns, Result, _sql_name

REL_TOL = 1e-9
ABS_TOL = 1e-12
QUARTILES = {"25%": 0.25, "50%": 0.5, "75%": 0.75}


@dataclass(frozen=True)
class Check:
    """One agreement rule applied to one figure."""

    name: str
    ok: bool
    detail: str


def _close(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)


def compare(reference: Result, other: Result) -> list[Check]:
    """Exact and 1e-9-relative checks of `other` against `reference` (quartiles excluded)."""
    checks = [
        Check("rows", reference.rows == other.rows, f"{reference.rows} vs {other.rows}"),
    ]
    for column, ref in reference.describe.items():
        got = other.describe.get(column)
        if got is None:
            checks.append(Check(f"{column}", False, f"missing from {other.engine}"))
            continue
        for figure in ("count", "min", "max"):
            same = float(ref[figure]) == float(got[figure])
            checks.append(Check(f"{column}.{figure}", same, f"{ref[figure]} vs {got[figure]}"))
        for figure in ("mean", "std"):
            close = _close(float(ref[figure]), float(got[figure]))
            checks.append(Check(f"{column}.{figure}", close, f"{ref[figure]!r} vs {got[figure]!r}"))
    if reference.daily is not None and other.daily is not None:
        ref_days, got_days = reference.daily.index, other.daily.index
        same_days = len(ref_days) == len(got_days) and bool((ref_days == got_days).all())
        checks.append(Check("daily.days", same_days, f"{len(ref_days)} vs {len(got_days)} days"))
        if same_days:
            for column in reference.daily.columns:
                pairs = zip(reference.daily[column], other.daily[column], strict=True)
                bad = [(a, b) for a, b in pairs if not _close(float(a), float(b))]
                detail = f"{len(bad)} of {len(ref_days)} days differ" + (
                    f", e.g. {bad[0][0]!r} vs {bad[0][1]!r}" if bad else ""
                )
                checks.append(Check(f"daily.{column}", not bad, detail))
    return checks


def rank_bound(count: int, sketch_size: int, partitions: int) -> int:
    """The documented rank error of the job's quartiles: N/k + P ranks."""
    return count // sketch_size + partitions


def check_quartiles(
    folder: Path, columns: Columns, job: Result, sketch_size: int, partitions: int
) -> list[Check]:
    """Each job quartile's rank in the data, from DuckDB, against the documented bound."""
    import duckdb

    source = f"read_parquet('{folder}/**/*.parquet', hive_partitioning = true)"
    selects, wanted = [], []
    for column in columns.numeric:
        for label, q in QUARTILES.items():
            value = float(job.describe[column][label])
            c = _sql_name(column)
            selects += [f"count(*) FILTER ({c} < {value!r})", f"count(*) FILTER ({c} <= {value!r})"]
            wanted.append((column, label, q, value))
    with duckdb.connect() as con:
        con.execute("SET enable_progress_bar = false")
        row = con.execute(f"SELECT {', '.join(selects)} FROM {source}").fetchone()
    assert row is not None
    checks = []
    for index, (column, label, q, value) in enumerate(wanted):
        below, at_or_below = row[2 * index], row[2 * index + 1]
        count = int(job.describe[column]["count"])
        bound = rank_bound(count, sketch_size, partitions)
        target = q * (count - 1)
        # The value occupies 0-based ranks below .. at_or_below - 1.
        error = max(0.0, below - target, target - (at_or_below - 1))
        checks.append(
            Check(
                f"{column}.{label}",
                error <= bound,
                f"{value!r} is {error:.0f} ranks from the exact quartile (bound {bound})",
            )
        )
    return checks


def failures(checks: list[Check]) -> list[Check]:
    """The checks that did not hold."""
    return [check for check in checks if not check.ok]
