"""The run's report: summary JSON, CSV tables, the daily-averages plot and the Dask
performance report, written to the output folder and, when an MLflow tracking URI is set (as
on Azure ML), logged to the run."""

from __future__ import annotations

import io
import json
import logging
import math
import os
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobs.data import Location

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

log = logging.getLogger(__name__)

SUMMARY_FILE = "summary.json"
DESCRIBE_FILE = "describe.csv"
DAILY_MEANS_FILE = "daily_means.csv"
PLOT_FILE = "daily_means.png"
PERFORMANCE_REPORT_FILE = "dask-performance-report.html"


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def write_bytes(location: Location, name: str, data: bytes) -> None:
    """Write one file below `location`."""
    fs, path = location.filesystem()
    fs.makedirs(path, exist_ok=True)
    with fs.open(f"{path}/{name}", "wb") as handle:
        handle.write(data)


def summary_bytes(summary: dict[str, Any]) -> bytes:
    """The summary as JSON (NaN and infinities become null)."""
    return (json.dumps(_json_safe(summary), indent=2, sort_keys=False) + "\n").encode()


# Up to this many columns get a panel each; a wider table is one heat map (a page of 50
# panels is unreadable, and each panel costs matplotlib about 50 ms to draw).
MAX_PANELS = 12


def plot_daily_means(daily: pd.DataFrame, title: str) -> bytes:
    """A PNG of the daily averages over time: one small panel per column, or for more than
    `MAX_PANELS` columns one heat map, each column scaled to its own range.

    Drawn on a bare `Figure` with fixed margins and concise date labels: no pyplot state, and
    no `tight_layout`/`autofmt_xdate`, which each draw the whole figure once more to measure
    it (together two thirds of the plot's time in a one-second job).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    draw = _panels if len(daily.columns) <= MAX_PANELS else _heat_map
    figure = draw(daily)
    FigureCanvasAgg(figure)
    locator = AutoDateLocator(maxticks=6)
    axis = figure.axes[0]
    axis.xaxis.set_major_locator(locator)
    axis.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    figure.suptitle(title)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _panels(daily: pd.DataFrame) -> Figure:
    from matplotlib.figure import Figure

    columns = list(daily.columns)
    ncols = min(3, max(1, len(columns)))
    nrows = math.ceil(len(columns) / ncols) if columns else 1
    width, height = 5.0 * ncols, 2.6 * nrows + 0.6
    figure = Figure(figsize=(width, height), dpi=100)
    # Margins in inches, as fractions of this figure: room for the title, panel titles and
    # the bottom row's date labels, whatever the grid.
    figure.subplots_adjust(
        left=0.6 / width,
        right=1 - 0.2 / width,
        top=1 - 0.7 / height,
        bottom=0.5 / height,
        hspace=0.45,
        wspace=0.25,
    )
    axes = figure.subplots(nrows, ncols, squeeze=False, sharex=True)
    for axis, column in zip(axes.flat, columns, strict=False):
        axis.plot(daily.index, daily[column], linewidth=1)
        axis.set_title(column, fontsize=10)
        axis.tick_params(labelsize=8)
        axis.grid(alpha=0.3)
    for axis in list(axes.flat)[len(columns) :]:
        axis.set_visible(False)
    return figure


def _heat_map(daily: pd.DataFrame) -> Figure:
    import numpy as np
    from matplotlib.dates import date2num
    from matplotlib.figure import Figure

    values = daily.to_numpy(dtype=float).T  # a row per column, a cell per day
    finite = np.where(np.isfinite(values), values, np.nan)
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # a column with no values at all
        low = np.nanmin(finite, axis=1, keepdims=True) if values.size else finite
        high = np.nanmax(finite, axis=1, keepdims=True) if values.size else finite
        scaled = np.where(high > low, (finite - low) / (high - low), 0.5)
    scaled[np.isnan(finite)] = np.nan  # a day without values stays blank
    rows = len(daily.columns)
    width, height = 12.0, 0.16 * rows + 1.6
    figure = Figure(figsize=(width, height), dpi=100)
    figure.subplots_adjust(
        left=1.3 / width, right=1 - 1.1 / width, top=1 - 0.6 / height, bottom=0.5 / height
    )
    axis = figure.subplots()
    first, last = (float(date2num(daily.index[i])) for i in (0, -1)) if len(daily) else (0, 0)
    image = axis.imshow(
        scaled if len(daily) else np.full((rows, 1), np.nan),
        aspect="auto",
        interpolation="nearest",
        cmap="viridis",
        vmin=0.0,
        vmax=1.0,
        extent=(first - 0.5, last + 0.5, rows - 0.5, -0.5),
    )
    axis.xaxis_date()
    axis.set_yticks(range(rows), [str(c) for c in daily.columns], fontsize=7)
    axis.tick_params(axis="x", labelsize=8)
    colorbar = figure.colorbar(image, ax=axis, fraction=0.03, pad=0.01)
    colorbar.set_label("each column's daily mean, 0 = its lowest day, 1 = its highest", fontsize=8)
    return figure


class PerformanceReport:
    """The Dask dashboard's plots (task stream, worker profile, bandwidth, ...) recorded from
    `start` to `finish` and written as one HTML file to the run's staging, so that they are
    committed with the report. Without a distributed client (Dask's local scheduler) there is
    no dashboard, and nothing is recorded.

    A run that fails never calls `finish`: its staging is removed anyway, and asking a
    scheduler that may be going away for its report would only mask the error.
    https://distributed.dask.org/en/stable/diagnosing-performance.html#performance-reports
    """

    def __init__(self, staging: Location, recording: Any) -> None:
        self._staging = staging
        self._recording = recording

    @classmethod
    def start(cls, staging: Location) -> PerformanceReport:
        """Start recording on the current distributed client, if there is one."""
        from distributed import performance_report

        from jobs.cluster import current_client

        if current_client() is None:
            return cls(staging, None)
        # inline: the file carries its own scripts, so it opens without internet access.
        # Where the scheduler writes it is chosen in `finish`, so a run that fails before
        # then leaves no scratch folder behind.
        recording = performance_report(stacklevel=2, mode="inline")
        recording.__enter__()
        return cls(staging, recording)

    def finish(self) -> str | None:
        """Render the report and stage it; its file name, or None when nothing was recorded."""
        if self._recording is None:
            return None
        recording, self._recording = self._recording, None
        with tempfile.TemporaryDirectory(prefix="dask-performance-report-") as scratch:
            path = Path(scratch, PERFORMANCE_REPORT_FILE)
            recording.filename = str(path)
            recording.__exit__(None, None, None)
            write_bytes(self._staging, PERFORMANCE_REPORT_FILE, path.read_bytes())
        return PERFORMANCE_REPORT_FILE


def start_plot(daily: pd.DataFrame, title: str) -> Callable[[], bytes]:
    """Start drawing the daily-means plot; the returned function waits for the PNG.

    With a distributed client, a worker draws it (the workers are idle once the pass is done)
    while this process renders the performance report and writes the other files; a cluster
    whose workers lack matplotlib gets it drawn here instead.
    """
    from jobs.cluster import current_client

    client = current_client()
    if client is None:
        png = plot_daily_means(daily, title)
        return lambda: png
    drawing = client.submit(plot_daily_means, daily, title, pure=False)

    def result() -> bytes:
        try:
            return bytes(drawing.result())
        except ImportError:
            return plot_daily_means(daily, title)

    return result


def tracking_uri() -> str | None:
    """The MLflow tracking URI if one is configured (Azure ML sets it on every job)."""
    return os.environ.get("MLFLOW_TRACKING_URI") or None


def log_to_mlflow(summary: dict[str, Any], files: Callable[[], dict[str, bytes]]) -> bool:
    """Log the figures as metrics and the report files (`files()`, read only when MLflow
    tracking is configured: they include a performance report of megabytes, perhaps over
    abfs) as artifacts to the active MLflow run; return False (with a warning) when the
    tracking store cannot be used."""
    uri = tracking_uri()
    if uri is None:
        return False
    import mlflow

    try:
        mlflow.set_tracking_uri(uri)
        started = mlflow.active_run() is None
        if started:
            mlflow.start_run()
    except Exception as error:  # e.g. an unreachable tracking server
        log.warning("MLflow tracking at %s is not usable (%s); report files only", uri, error)
        return False
    try:
        metrics: dict[str, float] = {"rows": float(summary["rows"])}
        for column, figures in summary["describe"].items():
            for name, value in figures.items():
                if isinstance(value, float) and math.isfinite(value):
                    key = name.replace("%", "pct")
                    metrics[f"{column}.{key}"] = value
        for name, value in summary["prepared"]["droppedBy"].items():
            metrics[f"dropped.{name}"] = float(value)
        metrics["rowsDropped"] = float(summary["prepared"]["rowsDropped"])
        for stage, seconds in summary["timings"].items():
            metrics[f"seconds.{stage}"] = float(seconds)
        mlflow.log_metrics(metrics)
        mlflow.log_params({"timeColumn": summary["timeColumn"], "dataset": summary["dataset"]})
        with tempfile.TemporaryDirectory() as folder:
            for name, data in files().items():
                Path(folder, name).write_bytes(data)
            mlflow.log_artifacts(folder, artifact_path="report")
    finally:
        if started:
            mlflow.end_run()
    return True


def tag_run(tags: dict[str, str]) -> None:
    """Set tags on the MLflow run when tracking is configured (best effort: logs only)."""
    uri = tracking_uri()
    if uri is None:
        return
    try:
        import mlflow

        mlflow.set_tracking_uri(uri)
        started = mlflow.active_run() is None
        if started:
            mlflow.start_run()
        mlflow.set_tags(tags)
        if started:
            mlflow.end_run()
    except Exception as error:
        log.warning("could not tag the MLflow run at %s: %s", uri, error)
