"""One pass over one partition: every figure the analysis needs, and its prepared file.

A task reads its row groups once, as Arrow, and in the same pass computes the row count, the
`describe` summaries and quantile sketches, the daily sums and the drop-rule counts, filters
the rows and writes them as one prepared parquet file per month; it returns only those small
partials. The rows are never converted to pandas: strings stay Arrow strings from the file
to the prepared file, and only the numeric and time columns become numpy arrays (the numbers
the sketches and rules read). Nothing is held between tasks, so a dataset of any size runs in
the memory of a few partitions per worker.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import fsspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from jobs import prepare, stats
from jobs.data import Location
from jobs.errors import InvalidInputError


@dataclass(frozen=True)
class PassPlan:
    """What every partition's pass does; small, and shipped to the workers as it is."""

    location: Location
    read_columns: list[str]
    time_column: str
    numeric_columns: list[str]
    finite_columns: list[str]  # the numeric columns the not-finite rule reads
    taxi: bool
    sketch_size: int
    target: str | None  # URL of the prepared folder; None: count only, write nothing
    target_options: dict[str, Any] = field(default_factory=dict)
    partitioned_by: tuple[str, str] = ("year", "month")
    derived: dict[str, str] = field(default_factory=dict)  # derived column -> its name
    # The unified types of `read_columns` (`jobs.data.unify_schemas`); None: as each file has.
    read_schema: pa.Schema | None = None

    def rules(self) -> list[prepare.Rule]:
        """The drop rules, generic first."""
        return prepare.rules_for(self.time_column, self.finite_columns, self.taxi)


@dataclass
class Partial:
    """What one partition's pass returns: counts and mergeable summaries only."""

    rows: int
    summaries: dict[str, stats.ColumnSummary]
    daily: stats.DailySums
    dropped_by: dict[str, int]
    dropped: int
    files: int


def as_local_time(column: pa.ChunkedArray) -> np.ndarray:
    """A timestamp or date column as datetime64[us] of its own wall-clock time (NaT missing):
    a timezone-aware column's days are the days of its timezone, as pandas counts them."""
    if pa.types.is_timestamp(column.type) and column.type.tz is not None:
        column = pc.local_timestamp(column)
    return np.asarray(column.to_numpy(), dtype="datetime64[us]")


def as_float(column: pa.ChunkedArray) -> np.ndarray:
    """A numeric column as float64, NaN where missing."""
    return np.asarray(column.to_numpy(), dtype=np.float64)


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """`table` with exactly the columns of `schema`, in its order and types: a column the
    file lacks reads as nulls, and a narrower type of the same family is widened."""
    columns = []
    for column in schema:
        if column.name not in table.column_names:
            columns.append(pa.nulls(table.num_rows, column.type))
            continue
        values = table.column(column.name)
        columns.append(values if values.type == column.type else values.cast(column.type))
    return pa.Table.from_arrays(columns, schema=schema)


def _read(piece: tuple[str, tuple[int, ...]], plan: PassPlan) -> pa.Table:
    path, groups = piece
    fs, _ = plan.location.filesystem()
    try:
        with fs.open(path, "rb") as handle:
            table = pq.ParquetFile(handle).read_row_groups(
                list(groups), columns=plan.read_columns, use_threads=False
            )
        return table if plan.read_schema is None else conform(table, plan.read_schema)
    except (OSError, pa.ArrowException, KeyError, ValueError) as error:
        raise InvalidInputError(
            f"{path} in dataset {plan.location} cannot be read "
            f"(row groups {groups[0]}-{groups[-1]}): {error}"
        ) from None


def scan_partition(piece: tuple[str, tuple[int, ...]], plan: PassPlan, index: int) -> Partial:
    """Read one partition's row groups and do the whole pass over them (see the module)."""
    table = _read(piece, plan)
    values: dict[str, np.ndarray] = {}
    for name in plan.numeric_columns:
        values[name] = as_float(table.column(name))
    times = [plan.time_column, *((prepare.PICKUP, prepare.DROPOFF) if plan.taxi else ())]
    for name in dict.fromkeys(times):
        values[name] = as_local_time(table.column(name))
    if plan.taxi:
        for name in prepare.TAXI_COLUMNS:
            if name not in values:
                values[name] = as_float(table.column(name))
    micros = values[plan.time_column].view(np.int64)
    summaries = {
        name: stats.ColumnSummary.of(values[name], plan.sketch_size)
        for name in plan.numeric_columns
    }
    daily = stats.DailySums.of(micros, [values[name] for name in plan.numeric_columns])
    flags = prepare.flag_invalid(values, plan.rules())
    invalid = np.logical_or.reduce(list(flags.values())) if flags else np.zeros(0, bool)
    files = 0
    if plan.target is not None:
        files = _write(table, values, micros, invalid, plan, index)
    return Partial(
        rows=table.num_rows,
        summaries=summaries,
        daily=daily,
        dropped_by={name: int(flag.sum()) for name, flag in flags.items()},
        dropped=int(invalid.sum()),
        files=files,
    )


def _write(
    table: pa.Table,
    values: dict[str, np.ndarray],
    micros: np.ndarray,
    invalid: np.ndarray,
    plan: PassPlan,
    index: int,
) -> int:
    """Write the valid rows as `<target>/<year>=Y/<month>=M/part.<index>.parquet`, one file
    per month present: parquet partitioned like the source, with no shuffle."""
    keep = ~invalid
    if invalid.any():
        table = table.filter(pa.array(keep))
        micros = micros[keep]
    if not table.num_rows:
        return 0
    if plan.taxi:
        kept = {name: values[name][keep] for name in prepare.TAXI_COLUMNS}
        for name, column in prepare.derive_taxi(kept).items():
            table = table.append_column(plan.derived[name], pa.array(column))
    months = micros.astype("datetime64[us]").astype("datetime64[M]").view(np.int64)
    first, last = int(months.min()), int(months.max())
    distinct = [first] if first == last else np.unique(months).tolist()
    fs, root = fsspec.core.url_to_fs(plan.target, **plan.target_options)
    year_column, month_column = plan.partitioned_by
    for month in distinct:
        part = table if len(distinct) == 1 else table.filter(pa.array(months == month))
        year, month_index = divmod(int(month), 12)
        folder = f"{root}/{year_column}={1970 + year}/{month_column}={month_index + 1}"
        path = f"{folder}/part.{index:05d}.parquet"
        try:
            fs.makedirs(folder, exist_ok=True)
            with fs.open(path, "wb") as handle:
                pq.write_table(part, handle)
        except OSError as error:  # a full disk, a mount gone read-only since the check
            raise InvalidInputError(f"cannot write {path}: {error}") from None
    return len(distinct)
