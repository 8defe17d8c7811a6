"""Facts about Azure kept as data, each row with the Microsoft page it came from.

`vm_sizes` (cores, memory, GPUs, retirement) is read by the settings (reject retired or
unknown sizes) and by the outputs contract (the jobs side sizes its Dask workers from it);
`regions` is Azure's list of region names.
"""
