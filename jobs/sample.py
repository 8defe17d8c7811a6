"""A deterministic, NYC-taxi-like sample of the Azure Open Datasets yellow-taxi table.

Column names and types follow the Open Datasets `nyctlc` yellow table (`vendorID`,
`tpepPickupDateTime`, ..., with `improvementSurcharge` a string there too), and the files are
laid out like it: parquet partitioned `puYear=YYYY/puMonth=M`. Values follow the shapes of
real trips (log-normal distances, rush-hour speeds, fares from distance and time, tips on card
payments) and a small, fixed share of rows is dirty the way the real data is: no passengers,
zero or negative distances, drop-off before pick-up, negative fares, missing passenger counts.
The same `seed` and `rows` always give the same data.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from jobs.data import Location, check_reachable
from jobs.errors import InvalidInputError

TIME_COLUMN = "tpepPickupDateTime"
DROPOFF_COLUMN = "tpepDropoffDateTime"

SCHEMA = pa.schema(
    [
        ("vendorID", pa.string()),
        ("tpepPickupDateTime", pa.timestamp("us")),
        ("tpepDropoffDateTime", pa.timestamp("us")),
        ("passengerCount", pa.int32()),
        ("tripDistance", pa.float64()),
        ("puLocationId", pa.string()),
        ("doLocationId", pa.string()),
        ("rateCodeId", pa.int32()),
        ("storeAndFwdFlag", pa.string()),
        ("paymentType", pa.string()),
        ("fareAmount", pa.float64()),
        ("extra", pa.float64()),
        ("mtaTax", pa.float64()),
        ("improvementSurcharge", pa.string()),
        ("tipAmount", pa.float64()),
        ("tollsAmount", pa.float64()),
        ("totalAmount", pa.float64()),
    ]
)

# Share of rows made dirty, per kind; each kind hits different rows.
DIRTY_SHARES = {
    "zero_passengers": 0.004,
    "missing_passengers": 0.002,
    "non_positive_distance": 0.003,
    "dropoff_before_pickup": 0.002,
    "negative_fare": 0.002,
}
# Relative trip volume per hour of day (0-23): quiet nights, morning and evening peaks.
_HOURLY = np.array(
    [3, 2, 1.5, 1, 1, 1.5, 3, 5, 6, 6, 5.5, 5.5, 6, 6, 6.5, 6.5, 6.5, 7, 7.5, 7.5, 7, 6.5, 6, 4.5]
)
_LOCATION_IDS = np.array([str(i) for i in range(1, 266)])
# Zipf-like popularity: a few zones (Midtown, airports) get most trips.
_LOCATION_WEIGHTS = 1.0 / np.arange(1, 266) ** 0.9


DEFAULT_ROWS = 1_000_000


@dataclass(frozen=True)
class SampleSpec:
    """How much sample data to make, and where in time."""

    rows: int
    start_year: int = 2024
    start_month: int = 1
    months: int = 3
    seed: int = 20240101
    rows_per_file: int = 1_000_000

    def validate(self) -> None:
        """Reject sizes and dates that cannot make a dataset."""
        if self.rows < 1:
            raise InvalidInputError(f"--rows must be at least 1, got {self.rows}")
        if not 1 <= self.months <= 240:
            raise InvalidInputError(f"--months must be between 1 and 240, got {self.months}")
        if not 1 <= self.start_month <= 12:
            raise InvalidInputError(f"start month must be 1-12, got {self.start_month}")
        if self.rows_per_file < 1:
            raise InvalidInputError(f"--rows-per-file must be at least 1, got {self.rows_per_file}")

    def files(self) -> Iterator[tuple[int, int, int, int]]:
        """(year, month, file index, rows) for every file, in order."""
        per_month, extra = divmod(self.rows, self.months)
        for offset in range(self.months):
            month_index = self.start_month - 1 + offset
            year, month = self.start_year + month_index // 12, month_index % 12 + 1
            month_rows = per_month + (1 if offset < extra else 0)
            for index, first in enumerate(range(0, month_rows, self.rows_per_file)):
                yield year, month, index, min(self.rows_per_file, month_rows - first)


def make_trips(year: int, month: int, rows: int, rng: np.random.Generator) -> pa.Table:
    """One month's worth of `rows` synthetic yellow-taxi trips, as an Arrow table."""
    month_start = np.datetime64(f"{year:04d}-{month:02d}-01", "us")
    next_month = np.datetime64(f"{year + month // 12:04d}-{month % 12 + 1:02d}-01", "us")
    days = int((next_month - month_start) // np.timedelta64(1, "D"))
    day = rng.integers(0, days, rows)
    hour = rng.choice(24, rows, p=_HOURLY / _HOURLY.sum())
    second_of_hour = rng.integers(0, 3600, rows)
    pickup = (
        month_start
        + day.astype("timedelta64[D]")
        + hour.astype("timedelta64[h]")
        + second_of_hour.astype("timedelta64[s]")
    )
    # Weekends: longer leisure and airport trips, no rush hours (1970-01-01 was a Thursday).
    weekend = ((pickup.astype("datetime64[D]").astype(np.int64) + 3) % 7) >= 5
    distance = np.round(
        np.clip(rng.lognormal(np.where(weekend, 0.75, 0.6), 0.85, rows), 0.1, 80.0), 2
    )
    rush = (((hour >= 7) & (hour <= 9)) | ((hour >= 16) & (hour <= 19))) & ~weekend
    speed_mph = np.clip(rng.lognormal(np.where(rush, 2.2, 2.55), 0.3), 3.0, 45.0)
    minutes = distance / speed_mph * 60.0 + rng.exponential(2.0, rows)
    dropoff = pickup + (minutes * 60e6).astype("timedelta64[us]")

    rate_code = rng.choice([1, 2, 3, 4, 5], rows, p=[0.955, 0.03, 0.005, 0.005, 0.005])
    fare = np.round((3.0 + 2.5 * distance + 0.35 * minutes) * 2) / 2
    fare = np.where(rate_code == 2, 70.0, fare)
    extra = np.where((hour >= 20) | (hour < 6), 0.5, np.where(rush, 1.0, 0.0))
    mta_tax = np.full(rows, 0.5)
    surcharge = 0.3
    payment = rng.choice(["1", "2", "3", "4"], rows, p=[0.7, 0.28, 0.01, 0.01])
    tips = np.round(fare * rng.uniform(0.1, 0.3, rows), 2)
    tips = np.where((payment == "1") & (rng.random(rows) > 0.12), tips, 0.0)
    tolls = np.where(rng.random(rows) < 0.05, 6.94, 0.0)
    passengers = rng.choice(
        np.arange(1, 7, dtype=np.int32), rows, p=[0.72, 0.14, 0.04, 0.02, 0.05, 0.03]
    )
    passenger_valid = np.ones(rows, dtype=bool)

    # Dirty rows: each kind takes its own random rows.
    kinds = rng.choice(
        len(DIRTY_SHARES) + 1,
        rows,
        p=[*DIRTY_SHARES.values(), 1.0 - sum(DIRTY_SHARES.values())],
    )
    names = list(DIRTY_SHARES)
    passengers = np.where(kinds == names.index("zero_passengers"), 0, passengers).astype(np.int32)
    passenger_valid &= kinds != names.index("missing_passengers")
    distance = np.where(
        kinds == names.index("non_positive_distance"),
        -np.round(rng.uniform(0, 2, rows), 2),
        distance,
    )
    dropoff = np.where(
        kinds == names.index("dropoff_before_pickup"),
        pickup - (minutes * 60e6).astype("timedelta64[us]"),
        dropoff,
    )
    negative = kinds == names.index("negative_fare")
    fare = np.where(negative, -fare, fare)
    extra = np.where(negative, -extra, extra)
    mta_tax = np.where(negative, -mta_tax, mta_tax)
    tips = np.where(negative, 0.0, tips)
    total = np.round(
        fare + extra + mta_tax + np.where(negative, -surcharge, surcharge) + tips + tolls, 2
    )

    vendor = rng.choice(["1", "2", "6"], rows, p=[0.3, 0.68, 0.02])
    weights = _LOCATION_WEIGHTS / _LOCATION_WEIGHTS.sum()
    columns = {
        "vendorID": vendor,
        "tpepPickupDateTime": pickup,
        "tpepDropoffDateTime": dropoff,
        "passengerCount": pa.array(passengers, mask=~passenger_valid),
        "tripDistance": distance,
        "puLocationId": rng.choice(_LOCATION_IDS, rows, p=weights),
        "doLocationId": rng.choice(_LOCATION_IDS, rows, p=weights),
        "rateCodeId": rate_code.astype(np.int32),
        "storeAndFwdFlag": np.where(rng.random(rows) < 0.005, "Y", "N"),
        "paymentType": payment,
        "fareAmount": fare,
        "extra": extra,
        "mtaTax": mta_tax,
        "improvementSurcharge": np.where(negative, "-0.3", "0.3"),
        "tipAmount": tips,
        "tollsAmount": tolls,
        "totalAmount": total,
    }
    return pa.table([pa.array(columns[f.name], type=f.type) for f in SCHEMA], schema=SCHEMA)


def write_sample(
    location: Location, spec: SampleSpec, *, overwrite: bool = False, progress: bool = True
) -> list[str]:
    """Write the sample dataset under `location`; return the files written, in order."""
    spec.validate()
    fs, root = check_reachable(location)
    if fs.exists(root) and fs.ls(root, detail=False) and not overwrite:
        raise InvalidInputError(
            f"{location} already has content; choose an empty folder or pass --overwrite"
        )
    if overwrite and fs.exists(root):
        fs.rm(root, recursive=True)
    written: list[str] = []
    with tqdm(total=spec.rows, unit="rows", unit_scale=True, disable=not progress) as bar:
        for year, month, index, rows in spec.files():
            # One generator per file, keyed by position: files do not depend on each other.
            rng = np.random.default_rng([spec.seed, year, month, index])
            table = make_trips(year, month, rows, rng)
            folder = f"{root}/puYear={year}/puMonth={month}"
            fs.makedirs(folder, exist_ok=True)
            path = f"{folder}/part-{index:05d}.parquet"
            with fs.open(path, "wb") as handle:
                pq.write_table(table, handle, row_group_size=256_000, compression="snappy")
            written.append(path)
            bar.update(rows)
    return written
