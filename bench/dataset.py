"""The benchmark's datasets: the project's taxi sample, generated once per size and reused.

Each size lives in its own folder under the data directory (git-ignored `.bench/`), with a
small JSON marker beside it recording how it was made. A folder is reused only when its marker
matches the requested spec and the generator's source exactly (a changed generator makes
different data); it is written to a temporary sibling first and renamed
into place, so an interrupted generation never leaves a dataset that looks complete.
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

from jobs import sample
from jobs.data import Location
from jobs.errors import InvalidInputError
from jobs.sample import SampleSpec, write_sample

DEFAULT_ROWS = 24_000_000
MONTHS = 12


def spec_for(rows: int, months: int = MONTHS) -> SampleSpec:
    """The sample spec of a benchmark dataset: `rows` trips over `months`, one file a month."""
    if rows < months:
        raise InvalidInputError(f"--rows must be at least {months} (one per month), got {rows}")
    return SampleSpec(rows=rows, months=months, rows_per_file=math.ceil(rows / months))


def marker_content(spec: SampleSpec) -> dict[str, Any]:
    """What identifies a generated dataset: its spec and a digest of the generator's code."""
    code = inspect.getsource(sample).encode()
    return {**asdict(spec), "generator": hashlib.sha256(code).hexdigest()[:16]}


def ensure_dataset(data_dir: Path, rows: int, *, progress: bool = True) -> Path:
    """The folder holding the `rows`-row dataset, generated now unless already there."""
    spec = spec_for(rows)
    folder = data_dir / f"taxi-{rows}"
    marker = data_dir / f"taxi-{rows}.json"
    wanted = marker_content(spec)
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
    staging = data_dir / f".taxi-{rows}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        write_sample(Location(str(staging)), spec, progress=progress)
        marker.unlink(missing_ok=True)
        shutil.rmtree(folder, ignore_errors=True)
        staging.rename(folder)
        marker.write_text(json.dumps(wanted, indent=2) + "\n")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder
