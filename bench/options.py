"""What one `python -m bench` run measures: every field has a flag of the same name."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEFAULT_SECTIONS = ("whole", "shape", "overhead", "growth", "memory")


@dataclass(frozen=True)
class Options:
    """What to run; the whole-job sections and the stage diagnostic read the same options."""

    data_dir: Path
    rows: int
    sizes: tuple[int, ...]
    wide_rows: int = 4_000_000
    workers: int = 2
    duckdb_threads: int = 2
    repeat: int = 3
    sketch_size: int = 1000
    memory_rows: int = 96_000_000
    memory_limit: str = "2GiB"
    sections: tuple[str, ...] = DEFAULT_SECTIONS
    progress: bool = True
