"""edge_fer/parallel.py: forked workers start with every signal that stops a command kept for the
parent, and are used only where they pay."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

from edge_fer import parallel

# A SIGINT that lands while the workers are forked: Python's at-fork callbacks would swallow
# the handler's exception, and the command would go on as if no Ctrl-C had come.
_SIGNAL_DURING_FORK = """
import os, signal, sys
from edge_fer import parallel
sent = []
def interrupt():
    if not sent:
        sent.append(1)
        os.kill(os.getpid(), signal.SIGINT)
os.register_at_fork(after_in_parent=interrupt)
try:
    pool = parallel.worker_pool(2, 1000)
except KeyboardInterrupt:
    print("interrupted")
    sys.exit(0)
pool.shutdown()
print("lost")
"""


def test_a_signal_during_the_fork_is_raised_not_lost():
    done = subprocess.run([sys.executable, "-c", _SIGNAL_DURING_FORK], capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.stdout.strip() == "interrupted", done.stdout + done.stderr
    assert "Exception ignored" not in done.stderr


def test_workers_are_processes_only_for_enough_items_on_several_cores():
    with parallel.worker_pool(2, 1000) as pool:
        assert isinstance(pool, ProcessPoolExecutor)
        pids = set(pool.map(_pid, range(8)))
        assert len(pids) >= 1 and not pids & {__import__("os").getpid()}
    for workers, items in ((1, 1000), (2, parallel.MIN_ITEMS_FOR_PROCESSES - 1)):
        with parallel.worker_pool(workers, items) as pool:
            assert isinstance(pool, ThreadPoolExecutor)


def _pid(_: int) -> int:
    import os

    return os.getpid()
