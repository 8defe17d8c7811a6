"""Starting the local cluster: an interrupt during the start waits for it, then closes it."""

from __future__ import annotations

import os
import signal
import threading

import pytest
from distributed.core import Status
from distributed.deploy.spec import SpecCluster

from jobs.cluster import ClusterSpec, dask_client


def test_an_interrupt_during_the_start_closes_the_started_cluster() -> None:
    """Ctrl-C half-way through the start left a cluster no one could close: distributed's
    exit handler then failed on its unstarted workers and printed a traceback."""
    before = set(SpecCluster._instances)
    spec = ClusterSpec(workers=1, memory_limit="1GiB")
    ctrl_c = threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT))  # a worker takes 0.4 s+
    ctrl_c.start()
    try:
        with pytest.raises(KeyboardInterrupt), dask_client(spec):
            pytest.fail("the block ran although the start was interrupted")
    finally:
        ctrl_c.cancel()
    started = set(SpecCluster._instances) - before
    assert started, "the cluster never started"
    assert {cluster.status for cluster in started} == {Status.closed}
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handlers restored
