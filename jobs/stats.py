"""Mergeable per-partition statistics: what `describe` and the daily averages are made of.

Each partition is summarised once into small numbers (count, mean, sum of squared deviations,
min, max and a quantile sketch per column); summaries merge pairwise in any order, so a
dataset of any size costs one pass over the partitions in memory and no shuffle.

Quantile error bound
--------------------
A partition of n values keeps its sorted values at k+1 evenly spaced ranks, each standing for
the ranks up to the next kept one, at most ceil((n-1)/k) of them; when the partition has at
most k+1 distinct values it keeps every distinct value with its count, which is exact.
Merged, the weighted sketch places any value's rank within the sum of those gaps, so a
reported q-quantile is a data value whose rank lies within q*N +/- (N/k + P) for N values in
P partitions: with the default k = 1000, within 0.1% of the rows plus one row per partition.

The sorted values are never materialised: a hash count of the distinct values (Arrow's
`value_counts`, one pass) and a sort of those distinct values give the same kept values
several times faster than sorting the column, since measured data repeats values heavily.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

if TYPE_CHECKING:  # pandas only builds the merged table on the client: workers never import it
    import pandas as pd

QUANTILES = (0.25, 0.5, 0.75)
DEFAULT_SKETCH_SIZE = 1000


@dataclass
class ColumnSummary:
    """Mergeable summary of one numeric column."""

    count: int
    mean: float
    m2: float  # sum of squared deviations from the mean
    minimum: float
    maximum: float
    sketch_values: np.ndarray
    sketch_weights: np.ndarray

    @classmethod
    def of(cls, values: np.ndarray, sketch_size: int) -> ColumnSummary:
        """Summarise one partition's values (NaN is missing and not counted)."""
        missing = np.isnan(values)
        if missing.any():
            values = values[~missing]
        n = len(values)
        if n == 0:
            empty = np.empty(0)
            return cls(0, 0.0, 0.0, np.inf, -np.inf, empty, empty)
        mean = float(values.mean())
        counted = pc.value_counts(pa.array(values))
        distinct = counted.field("values").to_numpy(zero_copy_only=False)
        counts = counted.field("counts").to_numpy(zero_copy_only=False)
        order = np.argsort(distinct, kind="stable")
        distinct, counts = distinct[order], counts[order]
        # Squared deviations over the distinct values, weighted: no column-sized temporary.
        deviations = distinct - mean
        m2 = float(np.dot(counts * deviations, deviations))
        if len(distinct) <= sketch_size + 1:
            kept, weights = distinct, counts.astype(float)
        else:
            ranks = np.linspace(0, n - 1, sketch_size + 1).round().astype(np.int64)
            # The value at sorted rank r is the first distinct value whose running count > r.
            kept = distinct[np.searchsorted(np.cumsum(counts), ranks, side="right")]
            # Each kept value stands for the ranks from it up to the next kept one.
            weights = np.diff(np.append(ranks, n)).astype(float)
        return cls(n, mean, m2, float(distinct[0]), float(distinct[-1]), kept, weights)

    def merge(self, other: ColumnSummary) -> ColumnSummary:
        """Combine two summaries (Chan et al.'s parallel update for mean and variance)."""
        if other.count == 0:
            return self
        if self.count == 0:
            return other
        count = self.count + other.count
        delta = other.mean - self.mean
        return ColumnSummary(
            count=count,
            mean=self.mean + delta * other.count / count,
            m2=self.m2 + other.m2 + delta * delta * self.count * other.count / count,
            minimum=min(self.minimum, other.minimum),
            maximum=max(self.maximum, other.maximum),
            sketch_values=np.concatenate([self.sketch_values, other.sketch_values]),
            sketch_weights=np.concatenate([self.sketch_weights, other.sketch_weights]),
        )

    def quantile(self, q: float) -> float:
        """The sketch's q-quantile: the first value whose cumulative weight reaches q*N."""
        if self.count == 0:
            return float("nan")
        order = np.argsort(self.sketch_values, kind="stable")
        cumulative = np.cumsum(self.sketch_weights[order])
        index = int(np.searchsorted(cumulative, q * cumulative[-1], side="left"))
        return float(self.sketch_values[order][min(index, len(order) - 1)])

    def describe(self) -> dict[str, float]:
        """The figures of pandas' `describe` (sample standard deviation, ddof=1)."""
        std = float(np.sqrt(self.m2 / (self.count - 1))) if self.count > 1 else float("nan")
        figures = {
            "count": float(self.count),
            "mean": self.mean if self.count else float("nan"),
            "std": std,
            "min": self.minimum if self.count else float("nan"),
        }
        for q in QUANTILES:
            figures[f"{round(q * 100)}%"] = self.quantile(q)
        figures["max"] = self.maximum if self.count else float("nan")
        return figures


def merge_summaries(parts: list[dict[str, ColumnSummary]]) -> dict[str, ColumnSummary]:
    """Merge per-partition summaries column by column."""
    merged: dict[str, ColumnSummary] = {}
    for part in parts:
        for column, summary in part.items():
            merged[column] = merged[column].merge(summary) if column in merged else summary
    return merged


DAY_MICROS = 86_400_000_000


@dataclass
class DailySums:
    """Per calendar day of one partition: rows with a time, and each column's sum and
    non-missing count. Days are numbered from 1970-01-01 (day 0); merge in any order."""

    days: np.ndarray  # int64 day numbers, ascending, each with at least one row
    rows: np.ndarray  # int64 rows with a time, per day
    sums: np.ndarray  # float64, columns x days
    counts: np.ndarray  # int64, columns x days

    @classmethod
    def of(cls, micros: np.ndarray, values: list[np.ndarray]) -> DailySums:
        """Sum `values` per day of `micros` (int64 microseconds of local time; rows whose
        time is missing, NaT, are left out) for one partition."""
        valid = micros != np.iinfo(np.int64).min  # NaT
        day = micros[valid] // DAY_MICROS
        if len(day) == 0:
            empty = np.empty((len(values), 0))
            return cls(np.empty(0, np.int64), np.empty(0, np.int64), empty, empty.astype(np.int64))
        first, last = int(day.min()), int(day.max())
        if last - first <= 4 * len(day) + 366:
            index, width = day - first, last - first + 1  # dense: a bin per calendar day
        else:
            distinct, index = np.unique(day, return_inverse=True)  # far-apart days: sort
            width = len(distinct)
        rows = np.bincount(index, minlength=width)
        sums = np.empty((len(values), width))
        counts = np.empty((len(values), width), dtype=np.int64)
        for row, column in enumerate(values):
            column = column[valid]
            present = ~np.isnan(column)
            sums[row] = np.bincount(index[present], weights=column[present], minlength=width)
            counts[row] = np.bincount(index[present], minlength=width)
        keep = rows > 0
        days = (np.arange(first, last + 1) if width == last - first + 1 else distinct)[keep]
        return cls(days.astype(np.int64), rows[keep], sums[:, keep], counts[:, keep])


def merge_daily(parts: list[DailySums], columns: int) -> DailySums:
    """One `DailySums` over all partitions, days ascending."""
    parts = [part for part in parts if len(part.days)]
    if not parts:
        empty = np.empty((columns, 0))
        return DailySums(np.empty(0, np.int64), np.empty(0, np.int64), empty, empty.astype(int))
    days, index = np.unique(np.concatenate([p.days for p in parts]), return_inverse=True)
    rows = np.bincount(index, weights=np.concatenate([p.rows for p in parts]), minlength=len(days))
    sums = np.zeros((columns, len(days)))
    counts = np.zeros((columns, len(days)), dtype=np.int64)
    offset = 0
    for part in parts:
        where = index[offset : offset + len(part.days)]
        offset += len(part.days)
        # A part's days are distinct, so plain fancy-index addition cannot lose a repeat.
        sums[:, where] += part.sums
        counts[:, where] += part.counts
    return DailySums(days, rows.astype(np.int64), sums, counts)


def daily_means(
    parts: list[DailySums], columns: list[str], index_name: str = "day"
) -> pd.DataFrame:
    """Daily means of `columns`, one row per day that has rows, in order; the index holds
    each day's midnight and is named `index_name`."""
    total = merge_daily(parts, len(columns))
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(total.counts > 0, total.sums / np.maximum(total.counts, 1), np.nan)
    import pandas as pd

    stamps = total.days.astype("datetime64[D]").astype("datetime64[us]")
    index = pd.DatetimeIndex(stamps, name=index_name)
    return pd.DataFrame({c: means[i] for i, c in enumerate(columns)}, index=index)
