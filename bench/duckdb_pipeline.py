"""DuckDB's side of the whole-job benchmark, run as its own process:
`python -m bench.duckdb_pipeline SPEC_JSON`.

The job's pipeline in SQL, from the parquet files: row count; describe figures (count, mean,
sample standard deviation, min, exact quartiles, max) of every numeric column; daily means;
the drop counts (total and per rule); and the prepared dataset (the valid rows, the job's
derived taxi columns) written as parquet partitioned by the job's year and month columns.
It prints its figures as one JSON line, the report a user would read.

This module imports only json, sys and duckdb, so the process pays for nothing the job's
pipeline does not need. The spec (`bench.whole.pipeline_spec`) carries the SQL of each drop
rule, so the rules are written once, next to the job's own.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import duckdb


def quoted(column: str) -> str:
    """A column name as an SQL identifier."""
    return '"' + column.replace('"', '""') + '"'


def describe_selects(numeric: list[str]) -> list[str]:
    """Six aggregates per column; quartiles are one list (pandas' interpolation)."""
    selects = []
    for name in numeric:
        c = quoted(name)
        selects += [
            f"count({c})",
            f"avg({c})",
            f"stddev_samp({c})",
            f"min({c})",
            f"quantile_cont({c}, [0.25, 0.5, 0.75])",
            f"max({c})",
        ]
    return selects


def as_float(value: Any) -> float:
    """A SQL figure as a float; NULL (a column with no values) as NaN."""
    return float("nan") if value is None else float(value)


def describe(con: duckdb.DuckDBPyConnection, source: str, numeric: list[str]) -> dict[str, Any]:
    """The describe figures, keyed like pandas' `describe` (and the job's summary)."""
    row = con.execute(f"SELECT {', '.join(describe_selects(numeric))} FROM {source}").fetchone()
    assert row is not None
    figures: dict[str, Any] = {}
    for index, name in enumerate(numeric):
        count, mean, std, low, quartiles, high = row[index * 6 : index * 6 + 6]
        q1, q2, q3 = quartiles if quartiles is not None else (None, None, None)
        values = (count, mean, std, low, q1, q2, q3, high)
        labels = ("count", "mean", "std", "min", "25%", "50%", "75%", "max")
        figures[name] = {k: as_float(v) for k, v in zip(labels, values, strict=True)}
    return figures


def daily_means(
    con: duckdb.DuckDBPyConnection, source: str, time: str, numeric: list[str]
) -> dict[str, Any]:
    """Means per day that has rows, as {"days": [ISO dates], column: [means]}."""
    means = ", ".join(f"avg({quoted(n)})" for n in numeric)
    rows = con.execute(
        f"SELECT strftime(date_trunc('day', {time}), '%Y-%m-%d'), {means} "
        f"FROM {source} WHERE {time} IS NOT NULL GROUP BY 1 ORDER BY 1"
    ).fetchall()
    table: dict[str, Any] = {"days": [row[0] for row in rows]}
    for index, name in enumerate(numeric, start=1):
        table[name] = [as_float(row[index]) for row in rows]
    return table


def drop_counts(
    con: duckdb.DuckDBPyConnection, source: str, rules: dict[str, str]
) -> tuple[int, dict[str, int]]:
    """Rows breaking any rule, and rows breaking each, in one scan."""
    anyone = " OR ".join(f"({sql})" for sql in rules.values()) or "false"
    per_rule = [f"count(*) FILTER ({sql})" for sql in rules.values()]
    row = con.execute(
        f"SELECT {', '.join([f'count(*) FILTER ({anyone})', *per_rule])} FROM {source}"
    )
    counts = row.fetchone()
    assert counts is not None
    return int(counts[0]), {name: int(n) for name, n in zip(rules, counts[1:], strict=True)}


def write_prepared(con: duckdb.DuckDBPyConnection, source: str, spec: dict[str, Any]) -> None:
    """The valid rows with the derived columns, partitioned by the job's year and month."""
    time = quoted(spec["time"])
    invalid = " OR ".join(f"({sql})" for sql in spec["rules"].values()) or "false"
    columns = [quoted(c) for c in spec["read"]]
    columns += [f"{sql} AS {quoted(name)}" for name, sql in spec["derived"].items()]
    year, month = (quoted(c) for c in spec["partitionedBy"])
    con.execute(
        f"COPY (SELECT {', '.join(columns)}, year({time}) AS {year}, month({time}) AS {month} "
        f"FROM {source} WHERE NOT ({invalid})) TO '{spec['output']}' "
        f"(FORMAT parquet, PARTITION_BY ({year}, {month}))"
    )


def main(spec: dict[str, Any]) -> dict[str, Any]:
    """Run the pipeline described by `spec`; return what it prints."""
    source = f"read_parquet('{spec['input']}/**/*.parquet', hive_partitioning = false)"
    con = duckdb.connect(config={"threads": spec["threads"]})
    con.execute("SET enable_progress_bar = false")
    count = con.execute(f"SELECT count(*) FROM {source}").fetchone()
    assert count is not None
    figures = describe(con, source, spec["numeric"])
    daily = daily_means(con, source, quoted(spec["time"]), spec["numeric"])
    dropped, dropped_by = drop_counts(con, source, spec["rules"])
    write_prepared(con, source, spec)
    return {
        "rows": int(count[0]),
        "dropped": dropped,
        "droppedBy": dropped_by,
        "describe": figures,
        "daily": daily,
    }


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]))))
