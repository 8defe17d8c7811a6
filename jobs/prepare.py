"""The prepared dataset: which rows are invalid, and the columns derived for the taxi schema.

Every rule is a named, vectorised test on one partition; a row failing any rule is dropped,
and the summary reports how many rows each rule caught (a row can fail several) and the
total dropped. Generic rules apply to any dataset; the taxi rules and derived columns apply
when the yellow-taxi columns are present.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

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


def count_invalid(frame: pd.DataFrame, rules: list[Rule]) -> pd.Series:
    """Per rule, rows breaking it; plus `rowsIn` and `rowsDropped` (any rule)."""
    flags = flag_invalid(frame, rules)
    counts = flags.sum().astype("int64")
    counts["rowsIn"] = len(frame)
    counts["rowsDropped"] = int(flags.any(axis=1).sum())
    return counts


def partition_columns(time_column: str, taxi: bool) -> tuple[str, str]:
    """Year and month columns the prepared dataset is partitioned by (the source's for taxi)."""
    return ("puYear", "puMonth") if taxi else (f"{time_column}Year", f"{time_column}Month")


def prepare_partition(
    frame: pd.DataFrame, rules: list[Rule], time_column: str, taxi: bool
) -> pd.DataFrame:
    """Valid rows only, with derived columns and the year/month partition columns."""
    keep = ~flag_invalid(frame, rules).any(axis=1)
    out = frame.loc[keep.to_numpy()].copy()
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
