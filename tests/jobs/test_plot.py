"""The daily-means plot: a panel per column up to `MAX_PANELS`, one heat map beyond."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from jobs.report import MAX_PANELS, plot_daily_means


def _daily(columns: int, days: int = 40) -> pd.DataFrame:
    index = pd.date_range("2024-01-01", periods=days, freq="D", name="day")
    rng = np.random.default_rng(7)
    return pd.DataFrame({f"m{i:02d}": rng.normal(i, 1, days) for i in range(columns)}, index=index)


def _size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(io.BytesIO(png)) as image:
        return image.size


def test_up_to_max_panels_columns_get_a_panel_each() -> None:
    width, height = _size(plot_daily_means(_daily(MAX_PANELS), "twelve"))
    assert width == 1500  # three panels of 5 inches a row, at 100 dpi
    assert height == round((2.6 * MAX_PANELS / 3 + 0.6) * 100)


def test_a_wide_table_is_one_heat_map_a_row_per_column() -> None:
    width, height = _size(plot_daily_means(_daily(50), "fifty"))
    assert width == 1200
    assert height == round((0.16 * 50 + 1.6) * 100)  # grows by a thin row per column


@pytest.mark.parametrize(
    "daily",
    [
        _daily(20).iloc[:0],  # no day has a row
        _daily(20).iloc[:1],  # one day
        _daily(20).assign(m03=np.nan, m04=5.0),  # a column without values, a constant one
        _daily(20).assign(m05=np.inf),
    ],
    ids=["no-days", "one-day", "empty-and-constant-columns", "infinite-column"],
)
@pytest.mark.filterwarnings("error")
def test_heat_map_draws_degenerate_tables_without_warnings(daily: pd.DataFrame) -> None:
    with np.errstate(all="raise"):
        assert _size(plot_daily_means(daily, "degenerate"))[0] == 1200
