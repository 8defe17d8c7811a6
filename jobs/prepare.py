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
    """Valid rows only, with derived columns and the year/month partition columns."""
    if invalid is None:
        invalid = flag_invalid(frame, rules).any(axis=1).to_numpy()
    out = frame.loc[~invalid].copy()
    time = out[time_column]
    if taxi:
        minutes = (out[DROPOFF] - out[PICKUP]).dt.total_seconds() / 60.0
        out["tripDurationMinutes"] = minutes
        out["tipPercent"] = (
            out["tipAmount"] / out["fareAmount"].where(out["fareAmount"] > 0)
        ) * 100
        out["averageSpeedMph"] = out["tripDistance"] / (minutes / 60.0)
    year_column, month_column = partition_columns(time_column, taxi)
    out[year_column] = time.dt.year.astype("int32")
    out[month_column] = time.dt.month.astype("int32")
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
    invalid = flags.any(axis=1).to_numpy()
    counts["rowsIn"] = len(frame)
    counts["rowsDropped"] = int(invalid.sum())
    if target is None:
        return counts
    cleaned = prepare_partition(frame, rules, time_column, taxi, invalid=invalid)
    year_column, month_column = partition_columns(time_column, taxi)
    fs, root = fsspec.core.url_to_fs(target, **storage_options)
    keys = cleaned[year_column].to_numpy() * 100 + cleaned[month_column].to_numpy()
    for key in np.unique(keys):
        year, month = divmod(int(key), 100)
        part = cleaned.loc[keys == key].drop(columns=[year_column, month_column])
        folder = f"{root}/{year_column}={year}/{month_column}={month}"
        fs.makedirs(folder, exist_ok=True)
        with fs.open(f"{folder}/part.{index:05d}.parquet", "wb") as handle:
            pq.write_table(pa.Table.from_pandas(part, preserve_index=False), handle)
    return counts
