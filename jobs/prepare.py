"""The prepared dataset: which rows are invalid, and the columns derived for the taxi schema.

Every rule is a named, vectorised test on one partition; a row failing any rule is dropped,
and the summary reports how many rows each rule caught (a row can fail several) and the
total dropped. Generic rules apply to any dataset; the taxi rules and derived columns apply
when the yellow-taxi columns are present.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import fsspec
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

PICKUP = "tpepPickupDateTime"
DROPOFF = "tpepDropoffDateTime"
TAXI_COLUMNS = (PICKUP, DROPOFF, "passengerCount", "tripDistance", "fareAmount", "tipAmount")
DERIVED_TAXI_COLUMNS = ("tripDurationMinutes", "tipPercent", "averageSpeedMph")


@dataclass(frozen=True)
class Rule:
    """A named test that marks invalid rows of a partition."""

    name: str
    description: str
    invalid: Callable[[pd.DataFrame], pd.Series]


def generic_rules(time_column: str, numeric_columns: list[str]) -> list[Rule]:
    """Rules for any dataset: a timestamp and finite numbers."""

    def missing_time(frame: pd.DataFrame) -> pd.Series:
        return frame[time_column].isna()

    def not_finite(frame: pd.DataFrame) -> pd.Series:
        values = frame[numeric_columns].to_numpy(dtype=np.float64, na_value=np.nan)
        return pd.Series(~np.isfinite(values).all(axis=1), index=frame.index)

    return [
        Rule("missingTime", f"{time_column} is missing", missing_time),
        Rule("numericNotFinite", "a numeric column is missing, NaN or infinite", not_finite),
    ]


def taxi_rules() -> list[Rule]:
    """Rules that make a yellow-taxi trip plausible."""
    return [
        Rule(
            "passengerCountNotPositive",
            "passengerCount is 0 or less",
            lambda f: f["passengerCount"] <= 0,
        ),
        Rule(
            "tripDistanceNotPositive",
            "tripDistance is 0 or less",
            lambda f: f["tripDistance"] <= 0,
        ),
        Rule(
            "dropoffNotAfterPickup",
            f"{DROPOFF} is missing or not after {PICKUP}",
            lambda f: ~(f[DROPOFF] > f[PICKUP]),
        ),
        Rule("fareAmountNegative", "fareAmount is negative", lambda f: f["fareAmount"] < 0),
    ]


def is_taxi(columns: list[str]) -> bool:
    """True when the dataset has the yellow-taxi columns the taxi rules read."""
    return all(column in columns for column in TAXI_COLUMNS)


def flag_invalid(frame: pd.DataFrame, rules: list[Rule]) -> pd.DataFrame:
    """One boolean column per rule, True where the row breaks it."""
    return pd.DataFrame(
        {rule.name: rule.invalid(frame).fillna(False).astype(bool) for rule in rules},
        index=frame.index,
    )


def partition_columns(time_column: str, taxi: bool) -> tuple[str, str]:
    """Year and month columns the prepared dataset is partitioned by (the source's for taxi)."""
    return ("puYear", "puMonth") if taxi else (f"{time_column}Year", f"{time_column}Month")


def prepare_partition(
    frame: pd.DataFrame,
    rules: list[Rule],
    time_column: str,
    taxi: bool,
    invalid: np.ndarray | None = None,
) -> pd.DataFrame:
    """Valid rows only, with the derived columns for the taxi schema."""
    if invalid is None:
        invalid = flag_invalid(frame, rules).to_numpy().any(axis=1)
    out = frame.loc[~invalid]
    if taxi:
        minutes = (out[DROPOFF] - out[PICKUP]).dt.total_seconds() / 60.0
        fare = out["fareAmount"]
        out = out.assign(
            tripDurationMinutes=minutes,
            tipPercent=out["tipAmount"] / fare.where(fare > 0) * 100,
            averageSpeedMph=out["tripDistance"] / (minutes / 60.0),
        )
    return out


def write_prepared_partition(
    frame: pd.DataFrame,
    rules: list[Rule],
    time_column: str,
    taxi: bool,
    target: str | None,
    storage_options: dict[str, Any],
    index: int,
) -> pd.Series:
    """Flag, count, clean and (when `target` is set) write one partition, in one pass.

    Files land at `<target>/<year column>=Y/<month column>=M/part.<index>.parquet`, one per
    month present in the partition: parquet partitioned like the source, with no shuffle.
    """
    flags = flag_invalid(frame, rules)
    counts = flags.sum().astype("int64")
    invalid = flags.to_numpy().any(axis=1)
    counts["rowsIn"] = len(frame)
    counts["rowsDropped"] = int(invalid.sum())
    if target is None:
        return counts
    cleaned = prepare_partition(frame, rules, time_column, taxi, invalid=invalid)
    months = cleaned[time_column].to_numpy().astype("datetime64[M]")
    table = pa.Table.from_pandas(cleaned, preserve_index=False)
    year_column, month_column = partition_columns(time_column, taxi)
    fs, root = fsspec.core.url_to_fs(target, **storage_options)
    distinct = np.unique(months)
    for month in distinct:
        part = table if len(distinct) == 1 else table.filter(pa.array(months == month))
        year, month_index = divmod(int(month.astype(np.int64)), 12)
        folder = f"{root}/{year_column}={1970 + year}/{month_column}={month_index + 1}"
        fs.makedirs(folder, exist_ok=True)
        with fs.open(f"{folder}/part.{index:05d}.parquet", "wb") as handle:
            pq.write_table(part, handle)
    return counts
