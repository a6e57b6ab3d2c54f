"""One writing command at a time per warehouse, for the whole command.

DuckDB's own file lock covers one connection only. A build is dbt, then the CLV step, then
dbt again, and a run adds the gate and the publish: between those steps nobody holds the
warehouse file, so a second `segmentation build` started then would interleave its steps
with the first's. The commands that write (build, clv, run, publish, simulate) hold an
advisory lock on `<warehouse>.writer-lock` from start to end. The operating system releases
it when the process ends, however it ends, so a killed run leaves no stale lock.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from segmentation.errors import command_line


class WarehouseBusy(RuntimeError):
    """Another segmentation command is writing this warehouse; the message names it."""


@contextmanager
def writer_lock(warehouse_path: Path) -> Iterator[None]:
    """Hold the warehouse's writer lock, or raise WarehouseBusy at once naming the holder."""
    lock_path = warehouse_path.with_name(warehouse_path.name + ".writer-lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            pid = handle.read().strip()
            holder = f"PID {pid}: {command_line(int(pid))}" if pid.isdigit() else "PID unknown"
            raise WarehouseBusy(
                f"{warehouse_path} is in use by another process ({holder}). One segmentation command "
                "writes a warehouse at a time: wait for that process to finish (or stop it), then run this again"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield
