"""The mergeable column summaries: exact figures, and quartiles within the documented bound."""

from __future__ import annotations

import numpy as np
import pytest

from jobs.stats import ColumnSummary


def test_few_distinct_values_are_kept_exactly() -> None:
    values = np.array([3.0, 1.0, np.nan, 1.0, 2.0, 3.0, 3.0])
    summary = ColumnSummary.of(values, sketch_size=10)
    assert summary.count == 6
    assert summary.sketch_values.tolist() == [1.0, 2.0, 3.0]
    assert summary.sketch_weights.tolist() == [2.0, 1.0, 3.0]
    assert (summary.minimum, summary.maximum) == (1.0, 3.0)
    assert summary.mean == pytest.approx(13 / 6, rel=1e-12)
    assert summary.quantile(0.5) == 2.0


def test_sketch_keeps_the_values_at_evenly_spaced_sorted_ranks() -> None:
    values = np.round(np.random.default_rng(3).lognormal(0.6, 0.85, 50_000), 2)
    k = 100
    summary = ColumnSummary.of(values, sketch_size=k)
    ranks = np.linspace(0, len(values) - 1, k + 1).round().astype(np.int64)
    assert summary.sketch_values.tolist() == np.sort(values)[ranks].tolist()
    assert summary.sketch_weights.sum() == len(values)


def test_merged_quartiles_are_within_the_documented_rank_bound() -> None:
    rng = np.random.default_rng(5)
    parts = [np.round(rng.lognormal(1.0, 1.0, n), 3) for n in (9_000, 20_000, 31_000)]
    k = 50
    merged = ColumnSummary.of(parts[0], k)
    for part in parts[1:]:
        merged = merged.merge(ColumnSummary.of(part, k))
    data = np.sort(np.concatenate(parts))
    bound = len(data) // k + len(parts)
    for q in (0.25, 0.5, 0.75):
        value = merged.quantile(q)
        below = np.searchsorted(data, value, side="left")
        at_or_below = np.searchsorted(data, value, side="right")
        target = q * (len(data) - 1)
        assert below - bound <= target <= at_or_below - 1 + bound
    assert merged.mean == pytest.approx(data.mean(), rel=1e-12)
    assert np.sqrt(merged.m2 / (len(data) - 1)) == pytest.approx(data.std(ddof=1), rel=1e-9)
