"""The benchmark's datasets, generated once per shape and size and reused.

Two shapes, so that a result is not one dataset's accident:

- `taxi`: the project's taxi sample (`jobs.sample`) cut to 12 columns, three of them strings
  (vendor, pick-up zone, payment type), as a user would bring the yellow-taxi table;
- `wide`: one timestamp and 50 float columns (a few percent missing), plus two strings.

Each dataset lives in its own folder under the data directory (default `.bench/`,
git-ignored), with a small JSON marker beside it recording how it was made. A folder is
reused only when its marker matches the requested spec and the generator's source exactly (a
changed generator makes different data); it is written to a temporary sibling first and
renamed into place, so an interrupted generation never leaves a dataset that looks complete.
Files are laid out like the taxi source: `puYear=Y/puMonth=M/part-00000.parquet`, one a month.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import math
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from jobs import sample
from jobs.errors import InvalidInputError
from jobs.sample import SampleSpec

DEFAULT_ROWS = 24_000_000
MONTHS = 12
SHAPES = ("taxi", "wide")
TAXI_COLUMNS = (
    "vendorID",
    "tpepPickupDateTime",
    "tpepDropoffDateTime",
    "passengerCount",
    "tripDistance",
    "puLocationId",
    "rateCodeId",
    "paymentType",
    "fareAmount",
    "tipAmount",
    "tollsAmount",
    "totalAmount",
)
WIDE_NUMERIC = 50
WIDE_TIME_COLUMN = "eventTime"
ROW_GROUP_ROWS = 256_000


def spec_for(rows: int, months: int = MONTHS) -> SampleSpec:
    """The sample spec of a benchmark dataset: `rows` rows over `months`, one file a month."""
    if rows < months:
        raise InvalidInputError(f"--rows must be at least {months} (one per month), got {rows}")
    return SampleSpec(rows=rows, months=months, rows_per_file=math.ceil(rows / months))


def time_column(shape: str) -> str:
    """The timestamp column of a benchmark dataset of `shape`."""
    return sample.TIME_COLUMN if shape == "taxi" else WIDE_TIME_COLUMN


def marker_content(spec: SampleSpec, shape: str = "taxi") -> dict[str, Any]:
    """What identifies a generated dataset: its shape, spec and a digest of the generators."""
    parts = [inspect.getsource(sample), repr(TAXI_COLUMNS), repr(ROW_GROUP_ROWS)]
    parts += [inspect.getsource(f) for f in (make_wide, _make, write_dataset)]
    code = "".join(parts).encode()
    return {"shape": shape, **asdict(spec), "generator": hashlib.sha256(code).hexdigest()[:16]}


def make_wide(year: int, month: int, rows: int, rng: np.random.Generator) -> pa.Table:
    """One month of the wide shape: a timestamp, 50 floats (3% missing) and two strings."""
    start = np.datetime64(f"{year:04d}-{month:02d}-01", "us")
    end = np.datetime64(f"{year + month // 12:04d}-{month % 12 + 1:02d}-01", "us")
    span = int((end - start) // np.timedelta64(1, "s"))
    columns: dict[str, Any] = {
        WIDE_TIME_COLUMN: start + rng.integers(0, span, rows).astype("timedelta64[s]"),
        "site": rng.choice(np.array([f"site-{i:03d}" for i in range(200)]), rows),
        "sensor": rng.choice(np.array(["temp", "pressure", "flow", "level"]), rows),
    }
    for index in range(WIDE_NUMERIC):
        values = np.round(rng.normal(index, 1 + index % 7, rows), 3)
        columns[f"m{index:02d}"] = pa.array(values, mask=rng.random(rows) < 0.03)
    return pa.table(columns)


def _make(shape: str, year: int, month: int, rows: int, rng: np.random.Generator) -> pa.Table:
    if shape == "taxi":
        return sample.make_trips(year, month, rows, rng).select(list(TAXI_COLUMNS))
    return make_wide(year, month, rows, rng)


def write_dataset(root: Path, spec: SampleSpec, shape: str) -> None:
    """Write the dataset of `shape` and `spec` under `root`, one file a month."""
    for year, month, index, rows in spec.files():
        rng = np.random.default_rng([spec.seed, year, month, index])
        folder = root / f"puYear={year}" / f"puMonth={month}"
        folder.mkdir(parents=True, exist_ok=True)
        table = _make(shape, year, month, rows, rng)
        pq.write_table(
            table,
            folder / f"part-{index:05d}.parquet",
            row_group_size=ROW_GROUP_ROWS,
            compression="snappy",
        )


def ensure_dataset(
    data_dir: Path, rows: int, *, shape: str = "taxi", progress: bool = True
) -> Path:
    """The folder holding the `rows`-row dataset of `shape`, generated now unless there."""
    if shape not in SHAPES:
        raise InvalidInputError(f"unknown dataset shape {shape!r}; choose from {SHAPES}")
    spec = spec_for(rows)
    name = f"{shape}-{rows}"
    folder, marker = data_dir / name, data_dir / f"{name}.json"
    wanted = marker_content(spec, shape)
    if folder.is_dir() and marker.is_file():
        try:
            if json.loads(marker.read_text()) == wanted:
                return folder
        except json.JSONDecodeError:
            pass
    if folder.exists() and not marker.is_file():
        raise InvalidInputError(
            f"{folder} exists but has no {marker.name}: it was not made by the benchmark; "
            "remove it or choose another --data-dir"
        )
    data_dir.mkdir(parents=True, exist_ok=True)
    staging = data_dir / f".{name}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    if progress:
        print(f"generating {rows:,} rows ({shape}) in {folder} ...", flush=True)
    try:
        write_dataset(staging, spec, shape)
        marker.unlink(missing_ok=True)
        shutil.rmtree(folder, ignore_errors=True)
        staging.rename(folder)
        marker.write_text(json.dumps(wanted, indent=2) + "\n")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder
