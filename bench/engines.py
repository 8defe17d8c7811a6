"""The three contenders, each timed stage by stage on the same parquet folder.

- the floor: pyarrow reads exactly the columns the analysis reads, and does nothing else;
- DuckDB (a fixed number of threads) computes the analysis' figures with SQL straight from
  the parquet files: row count, describe figures (exact quartiles) and daily averages;
- the job: the project's own analysis (`jobs.analysis`, one pass) on the current Dask client.

Every engine reads parquet from disk on every run; nothing is cached between runs except
what the operating system keeps in its page cache (the benchmark warms it first, so all
engines start from the same warm cache).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.dataset as pads

from jobs import analysis, report
from jobs.data import Location, inspect_parquet

FIGURES = ("count", "mean", "std", "min", "25%", "50%", "75%", "max")


@dataclass
class Result:
    """What one engine computed in one run, and how long each stage took."""

    engine: str
    rows: int
    seconds: dict[str, float] = field(default_factory=dict)
    describe: dict[str, dict[str, float]] = field(default_factory=dict)
    daily: pd.DataFrame | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def total(self) -> float:
        """Wall seconds over all stages."""
        return sum(self.seconds.values())

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time one stage of this run."""
        start = time.perf_counter()
        yield
        self.seconds[name] = time.perf_counter() - start


@dataclass(frozen=True)
class Columns:
    """The analysis' column plan for a dataset, as its default options choose it."""

    time_column: str
    numeric: list[str]
    read: list[str]


def plan(folder: Path) -> Columns:
    """The columns the job reads and describes, from the project's own planner."""
    info = inspect_parquet(Location(str(folder)))
    chosen = analysis.plan_columns(info, analysis.AnalysisOptions())
    return Columns(chosen.time_column, chosen.numeric_columns, chosen.read_columns)


def run_floor(folder: Path, columns: Columns) -> Result:
    """Read the job's columns into Arrow memory with pyarrow, nothing more."""
    result = Result("pyarrow floor", rows=0)
    with result.stage("read"):
        table = pads.dataset(folder, format="parquet", partitioning="hive").to_table(
            columns=columns.read
        )
    result.rows = table.num_rows
    return result


def _sql_name(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def run_duckdb(folder: Path, columns: Columns, threads: int, *, exact: bool = True) -> Result:
    """The analysis' figures in DuckDB SQL, straight from the parquet files.

    `exact` quartiles use `quantile_cont` (pandas' interpolation, a holistic aggregate);
    otherwise `approx_quantile`, DuckDB's t-digest, which is the like-for-like contender for
    the job's sketch.
    """
    import duckdb

    kind = "exact" if exact else "approx"
    result = Result(f"duckdb {kind} quartiles", rows=0)
    quantile = "quantile_cont" if exact else "approx_quantile"
    source = f"read_parquet('{folder}/**/*.parquet', hive_partitioning = true)"
    time_column = _sql_name(columns.time_column)
    with duckdb.connect(config={"threads": threads}) as con:
        con.execute("SET enable_progress_bar = false")
        with result.stage("count"):
            rows = con.execute(f"SELECT count(*) FROM {source}").fetchone()
        result.rows = int(rows[0]) if rows else 0

        with result.stage("describe"):
            selects = []
            for name in columns.numeric:
                c = _sql_name(name)
                selects += [
                    f"count({c})",
                    f"avg({c})",
                    f"stddev_samp({c})",
                    f"min({c})",
                    f"{quantile}({c}, [0.25, 0.5, 0.75])",
                    f"max({c})",
                ]
            row = con.execute(f"SELECT {', '.join(selects)} FROM {source}").fetchone()
        assert row is not None
        for index, name in enumerate(columns.numeric):
            count, mean, std, low, quartiles, high = row[index * 6 : index * 6 + 6]
            result.describe[name] = dict(
                zip(FIGURES, [count, mean, std, low, *quartiles, high], strict=True)
            )

        with result.stage("daily"):
            means = ", ".join(f"avg({_sql_name(n)}) AS {_sql_name(n)}" for n in columns.numeric)
            daily = con.execute(
                f"SELECT date_trunc('day', {time_column}) AS day, {means} "
                f"FROM {source} WHERE {time_column} IS NOT NULL GROUP BY 1 ORDER BY 1"
            ).df()
        result.daily = daily.set_index("day")
    return result


def run_job(
    folder: Path,
    sketch_size: int,
    on_stage: Callable[[str], None] | None = None,
) -> Result:
    """The project's analysis (`jobs.analysis.analyze`, one pass) on the current Dask client,
    its report written to a scratch folder and the prepared dataset not written: the
    stage-level diagnostic, timed by the analysis' own stages."""
    result = Result("dask job", rows=0)
    options = analysis.AnalysisOptions(sketch_size=sketch_size, write_prepared=False)
    with tempfile.TemporaryDirectory(prefix="bench-job-") as scratch:
        output = Path(scratch) / "report"
        summary = analysis.analyze(str(folder), str(output), options, on_stage=on_stage)
        daily = pd.read_csv(output / report.DAILY_MEANS_FILE, index_col=0, parse_dates=True)
    result.seconds = {name: float(seconds) for name, seconds in summary["timings"].items()}
    result.rows = int(summary["rows"])
    result.describe = summary["describe"]
    result.daily = daily
    result.extra["partitions"] = int(summary["partitions"])
    return result
