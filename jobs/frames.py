"""Dask plumbing the analysis relies on, kept apart so the analysis reads as plain steps.

Persisting a parquet dataset: the known trap
--------------------------------------------
On dask/distributed 2025.7-2026.8, `dd.read_parquet(folder, columns=[...]).persist()` on a
folder with several files returns a collection that claims the original partition count,
while the futures it holds belong to fewer, *fused* partitions: reading a subset of columns
makes dask plan "IO fusion" (several files per task, `FusedIO`), but `persist` optimizes the
bare read on its own and the fusion step only runs when the read has a parent expression, so
the returned collection and the data actually computed disagree. The next `len()` or
`describe()` then asks for keys that never existed and fails with `FutureCancelledError ...
lost dependencies` (dask/dask#12488). Single files never fuse, hence "single files work".

The robust pattern used here does not depend on optimizer internals: persist, then rebuild
the collection from the futures that were really created (`dd.from_delayed` over them, in
key order). Its partitions are exactly the data held in cluster memory, and a lost worker's
partitions are recomputed by the scheduler from the futures' lineage.
"""

from __future__ import annotations

import dask.dataframe as dd
from distributed import futures_of, wait


def persist_frame(frame: dd.DataFrame) -> dd.DataFrame:
    """Persist `frame` in cluster memory and return a collection backed by those futures."""
    persisted = frame.persist()
    futures = futures_of(persisted)
    if not futures:
        # No distributed client: the local scheduler already computed the partitions.
        return persisted
    wait(futures)
    futures.sort(key=lambda future: future.key[1] if isinstance(future.key, tuple) else 0)
    return dd.from_delayed(futures, meta=frame._meta, verify_meta=False)
