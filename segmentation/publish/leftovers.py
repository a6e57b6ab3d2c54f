"""Temporary files of a publish or an export that was killed, removed by the next one.

Publish writes `<published>.tmp-<pid>` (with its `.wal` and `.spill/`), the export
`versions/.<stamp>.tmp-<pid>/` and `.current.tmp-<pid>`. A process that is killed cannot
remove them, so the next run does: a leftover is removed only when the process that made
it (the pid in its name) is no longer running, so a publish or export that is running
right now keeps its files.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

_PID_SUFFIX = re.compile(r"\.tmp-(?P<pid>\d+)(?:\.wal|\.spill)?$")


def remove_leftovers(folder: Path, prefix: str) -> list[Path]:
    """Remove entries of `folder` named `<prefix>...tmp-<pid>[.wal|.spill]` whose process is gone."""
    removed: list[Path] = []
    if not folder.is_dir():
        return removed
    for entry in sorted(folder.iterdir()):
        match = _PID_SUFFIX.search(entry.name)
        if not entry.name.startswith(prefix) or match is None:
            continue
        if _running(int(match["pid"])):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry)
    return removed


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return False  # this process is starting a new publish: its old files are stale
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, another user's
    return True
