"""The machine a benchmark ran on, recorded next to its figures."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_bytes() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def describe_machine() -> dict[str, Any]:
    """CPU model and count, memory, OS, Python and engine versions, current load."""
    import dask
    import duckdb
    import numpy
    import pandas
    import pyarrow

    return {
        "cpuModel": _cpu_model(),
        "cpus": os.cpu_count(),
        "memoryBytes": _memory_bytes(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "versions": {
            "dask": dask.__version__,
            "duckdb": duckdb.__version__,
            "numpy": numpy.__version__,
            "pandas": pandas.__version__,
            "pyarrow": pyarrow.__version__,
        },
        "loadAverage": list(os.getloadavg()),
    }
