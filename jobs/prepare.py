"""The prepared dataset: which rows are invalid, and the columns derived for the taxi schema.

Every rule is a named, vectorised test on one partition's columns (numpy arrays: numbers as
float64 with NaN for missing, times as datetime64 with NaT); a row failing any rule is
dropped, and the summary reports how many rows each rule caught (a row can fail several) and
the total dropped. Generic rules apply to any dataset; the taxi rules and derived columns
apply when the yellow-taxi columns are present.

The not-finite rule reads only the numeric columns that are mostly present (at most
`MOSTLY_PRESENT_MISSING` of their values null, from the files' footers): one mostly-empty
column, such as a wind-gust reading taken on one hour in five, must not drop most rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

PICKUP = "tpepPickupDateTime"
DROPOFF = "tpepDropoffDateTime"
TAXI_COLUMNS = (PICKUP, DROPOFF, "passengerCount", "tripDistance", "fareAmount", "tipAmount")
DERIVED_TAXI_COLUMNS = ("tripDurationMinutes", "tipPercent", "averageSpeedMph")
# A numeric column with more than this share of nulls does not drop rows for being missing.
MOSTLY_PRESENT_MISSING = 0.05

Columns = Mapping[str, np.ndarray]


@dataclass(frozen=True)
class Rule:
    """A named test that marks invalid rows of a partition."""

    name: str
    description: str
    invalid: Callable[[Columns], np.ndarray]


def generic_rules(time_column: str, finite_columns: list[str]) -> list[Rule]:
    """Rules for any dataset: a timestamp, and finite numbers in `finite_columns`."""

    def missing_time(values: Columns) -> np.ndarray:
        return np.isnat(values[time_column])

    def not_finite(values: Columns) -> np.ndarray:
        bad = np.zeros(len(values[time_column]), dtype=bool)
        for column in finite_columns:
            bad |= ~np.isfinite(values[column])
        return bad

    rules = [Rule("missingTime", f"{time_column} is missing", missing_time)]
    if finite_columns:
        rules.append(
            Rule(
                "numericNotFinite",
                f"one of {', '.join(finite_columns)} is missing, NaN or infinite",
                not_finite,
            )
        )
    return rules


def _passengers(values: Columns) -> np.ndarray:
    return values["passengerCount"] <= 0


def _distance(values: Columns) -> np.ndarray:
    return values["tripDistance"] <= 0


def _dropoff(values: Columns) -> np.ndarray:
    return ~(values[DROPOFF] > values[PICKUP])  # NaT compares False: a missing time is invalid


def _fare(values: Columns) -> np.ndarray:
    return values["fareAmount"] < 0


def taxi_rules() -> list[Rule]:
    """Rules that make a yellow-taxi trip plausible."""
    return [
        Rule("passengerCountNotPositive", "passengerCount is 0 or less", _passengers),
        Rule("tripDistanceNotPositive", "tripDistance is 0 or less", _distance),
        Rule("dropoffNotAfterPickup", f"{DROPOFF} is missing or not after {PICKUP}", _dropoff),
        Rule("fareAmountNegative", "fareAmount is negative", _fare),
    ]


def rules_for(time_column: str, finite_columns: list[str], taxi: bool) -> list[Rule]:
    """Every drop rule of a run: the generic ones, then the taxi ones for the taxi schema."""
    rules = generic_rules(time_column, finite_columns)
    return rules + taxi_rules() if taxi else rules


def is_taxi(columns: list[str]) -> bool:
    """True when the dataset has the yellow-taxi columns the taxi rules read."""
    return all(column in columns for column in TAXI_COLUMNS)


def partition_columns(time_column: str, taxi: bool) -> tuple[str, str]:
    """Year and month columns the prepared dataset is partitioned by (the source's for taxi)."""
    return ("puYear", "puMonth") if taxi else (f"{time_column}Year", f"{time_column}Month")


def flag_invalid(values: Columns, rules: list[Rule]) -> dict[str, np.ndarray]:
    """One boolean array per rule, True where the row breaks it."""
    with np.errstate(invalid="ignore"):
        return {rule.name: np.asarray(rule.invalid(values), dtype=bool) for rule in rules}


def derive_taxi(values: Columns) -> dict[str, np.ndarray]:
    """The derived taxi columns for (valid) rows: duration, tip share and average speed."""
    minutes = (values[DROPOFF] - values[PICKUP]) / np.timedelta64(60, "s")
    fare = values["fareAmount"]
    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            "tripDurationMinutes": minutes,
            "tipPercent": values["tipAmount"] / np.where(fare > 0, fare, np.nan) * 100,
            "averageSpeedMph": values["tripDistance"] / (minutes / 60.0),
        }
