"""One-line explanations of the failures a user can cause, for the CLI (and Dagster).

The project's own errors (LoadError, DbtFailed, PublishError, ...) already say what went
wrong and what to do; this module adds the same for errors raised by libraries on a user's
mistake or a busy machine, such as a DuckDB file locked by another process. Anything else
is unexpected: the message says so and how to get the traceback (`--debug`).
"""

from __future__ import annotations

import re
from pathlib import Path

_LOCK = re.compile(r'Could not set lock on file "(?P<path>[^"]+)": Conflicting lock is held in (?P<program>.*?) '
                   r"\(PID (?P<pid>\d+)\)")


class UsageError(ValueError):
    """The command line asks for something contradictory or impossible; the message says what to change."""


def explain(exc: BaseException) -> str:
    """A one-line message for `exc` that names the file or value and the next step."""
    from segmentation.dbt_vars import VarsError

    if isinstance(exc, UsageError | VarsError):
        return str(exc)
    # Checked before the project's own errors: a dbt run that failed on the lock (DbtFailed)
    # lists every node; the one line that matters is who holds the file.
    lock = _LOCK.search(str(exc))
    if lock:
        return (
            f"{lock['path']} is in use by another process ({lock_holder(exc)}). "
            "DuckDB allows one writer or many readers at a time: wait for that process to finish "
            "(or stop it), then run this again"
        )
    if _is_project_error(exc):
        return str(exc)
    if isinstance(exc, FileNotFoundError):
        return f"{exc.filename or exc}: no such file or folder; check the path and the SEGMENTATION_* settings"
    if isinstance(exc, PermissionError):
        return (f"{exc.filename or exc}: permission denied; check who owns it, "
                "or point the SEGMENTATION_* setting elsewhere")
    return f"unexpected {type(exc).__name__}: {exc} (run again with --debug for the traceback, and report it)"


def lock_holder(exc: BaseException) -> str | None:
    """'PID <n>: <its command line>' when `exc` is DuckDB's conflicting-lock error, else None."""
    lock = _LOCK.search(str(exc))
    return f"PID {lock['pid']}: {command_line(int(lock['pid']))}" if lock else None


def _is_project_error(exc: BaseException) -> bool:
    """Errors raised by this project's modules carry a user-facing message already."""
    return type(exc).__module__.startswith("segmentation.")


def command_line(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "unknown command"
    words = [w.decode(errors="replace") for w in raw.split(b"\0") if w]
    return " ".join(words[:6])[:160] or "unknown command"
