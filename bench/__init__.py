"""Benchmark of the Dask analysis against DuckDB and the pyarrow read floor (`python -m bench`)."""
