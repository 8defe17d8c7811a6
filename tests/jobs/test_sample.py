"""The sample dataset: schema, layout, determinism, dirty rows."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from jobs.data import resolve
from jobs.errors import InvalidInputError
from jobs.sample import SCHEMA, SampleSpec, write_sample


def test_layout_schema_and_dirty_rows(tmp_path: Path) -> None:
    # 5,001 rows in December, 5,000 in January, at most 3,000 per file.
    spec = SampleSpec(rows=10_001, months=2, start_year=2023, start_month=12, rows_per_file=3_000)
    files = write_sample(resolve(str(tmp_path / "d")), spec, progress=False)
    relative = [str(Path(f).relative_to(tmp_path / "d")) for f in files]
    assert relative == [
        "puYear=2023/puMonth=12/part-00000.parquet",
        "puYear=2023/puMonth=12/part-00001.parquet",
        "puYear=2024/puMonth=1/part-00000.parquet",
        "puYear=2024/puMonth=1/part-00001.parquet",
    ]
    table = pq.read_table(tmp_path / "d", partitioning="hive")
    assert table.num_rows == 10_001
    for field in SCHEMA:
        assert table.schema.field(field.name).type == field.type
    frame = table.to_pandas()
    december = frame[frame["puMonth"].astype(int) == 12]
    assert (december["tpepPickupDateTime"].dt.month == 12).all()
    assert (frame["passengerCount"] == 0).any() and frame["passengerCount"].isna().any()
    assert (frame["tripDistance"] <= 0).any() and (frame["fareAmount"] < 0).any()
    assert (frame["tpepDropoffDateTime"] < frame["tpepPickupDateTime"]).any()
    clean = frame[frame["fareAmount"] > 0]
    assert (clean["tipAmount"] >= 0).all() and clean["vendorID"].isin(["1", "2", "6"]).all()


def test_same_seed_same_data(tmp_path: Path) -> None:
    spec = SampleSpec(rows=2_000, months=1)
    write_sample(resolve(str(tmp_path / "a")), spec, progress=False)
    write_sample(resolve(str(tmp_path / "b")), spec, progress=False)
    assert pq.read_table(tmp_path / "a").equals(pq.read_table(tmp_path / "b"))
    write_sample(
        resolve(str(tmp_path / "c")), SampleSpec(rows=2_000, months=1, seed=1), progress=False
    )
    assert not pq.read_table(tmp_path / "a").equals(pq.read_table(tmp_path / "c"))


def test_refuses_to_write_over_existing_data(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "x").write_text("x")
    with pytest.raises(InvalidInputError, match="already has content"):
        write_sample(resolve(str(tmp_path / "d")), SampleSpec(rows=10), progress=False)
    write_sample(resolve(str(tmp_path / "d")), SampleSpec(rows=10), overwrite=True, progress=False)
    assert not (tmp_path / "d" / "x").exists()


@pytest.mark.parametrize(
    ("spec", "message"),
    [(SampleSpec(rows=0), "--rows"), (SampleSpec(rows=5, months=0), "--months")],
)
def test_bad_sizes(tmp_path: Path, spec: SampleSpec, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        write_sample(resolve(str(tmp_path / "d")), spec, progress=False)
    assert not (tmp_path / "d").exists()
