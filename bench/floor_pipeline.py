"""The floor of the whole-job benchmark, run as its own process:
`python -m bench.floor_pipeline SPEC_JSON`.

pyarrow reads every column the job reads and writes them as parquet partitioned by the job's
year and month columns: the least any engine must do to turn the input into the prepared
dataset (no figures, no drop rules). Imports only json, sys and pyarrow.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import pyarrow.compute as pc
import pyarrow.dataset as ds


def main(spec: dict[str, Any]) -> dict[str, Any]:
    """Read, add the year and month columns, write; return the row count."""
    table = ds.dataset(spec["input"], format="parquet").to_table(columns=spec["read"])
    time = table[spec["time"]]
    year, month = spec["partitionedBy"]
    table = table.append_column(year, pc.year(time)).append_column(month, pc.month(time))
    ds.write_dataset(
        table,
        spec["output"],
        format="parquet",
        partitioning=[year, month],
        partitioning_flavor="hive",
    )
    return {"rows": table.num_rows}


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]))))
