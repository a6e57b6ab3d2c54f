"""Run dbt in-process against the configured warehouse, quietly, with a progress count.

dbt's own console log is a line per node (hundreds per build) with colour codes; the CLI
shows one progress line per dbt command instead and leaves the full log where dbt writes
it anyway (`logs/dbt.log`, or DBT_LOG_PATH). Errors still reach the console, and
`DbtFailed` lists every failed node. SEGMENTATION_DBT_VERBOSE=1 brings dbt's console log back.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from segmentation.config import Settings
from segmentation.engines import dbt_target

# dbt events that report one finished node carry its position: index of total.
_RESULT_EVENTS = {
    "LogModelResult", "LogTestResult", "LogSeedResult", "LogSnapshotResult", "LogNodeResult", "LogNodeNoOpResult",
}


# dbt commands that write the warehouse: while one runs, and after one that was killed,
# `<warehouse>.building` exists, and `publish --skip-build` refuses the file (half built).
_WRITING_COMMANDS = {"build", "run", "seed", "snapshot"}


def build_marker(warehouse_path: Path) -> Path:
    """`<warehouse>.building`, holding the pid of the dbt command writing the warehouse."""
    return Path(f"{warehouse_path}.building")


@dataclass(frozen=True)
class DbtNodeResult:
    """One node of a dbt invocation: what Dagster records as a materialization or check."""

    unique_id: str
    status: str  # dbt's: success, error, skipped, pass, fail, warn, ...
    seconds: float
    message: str


class DbtFailed(RuntimeError):
    """dbt returned failures; the message lists the nodes that failed."""

    def __init__(self, message: str, results: list[DbtNodeResult] | None = None) -> None:
        super().__init__(message)
        self.results = results or []


def _node_results(result) -> list[DbtNodeResult]:
    return [
        DbtNodeResult(
            unique_id=node_result.node.unique_id,
            status=str(getattr(node_result.status, "value", node_result.status)).lower(),
            seconds=float(node_result.execution_time or 0.0),
            message=(node_result.message or "").strip(),
        )
        # `dbt parse` and `docs generate` return no node results.
        for node_result in getattr(getattr(result, "result", None), "results", None) or []
        if getattr(node_result, "node", None) is not None
    ]


class _NodeCounter:
    """Turns dbt's per-node result events into a few progress lines.

    On a terminal the line is rewritten in place; in a log file (CI, cron, a pipe) a line is
    printed at each quarter, so a 400-node build prints at most four lines.
    """

    def __init__(self, label: str, say: Callable[[str], None], interactive: bool) -> None:
        self.label, self.say, self.interactive = label, say, interactive
        self.done, self.total, self.failed = 0, 0, 0
        self.started = time.monotonic()
        self._last_quarter = 0

    def __call__(self, event) -> None:
        name = event.info.name
        if name not in _RESULT_EVENTS:
            return
        data = event.data
        self.done += 1
        self.total = max(self.total, getattr(data, "total", 0) or getattr(data, "num_models", 0) or 0, self.done)
        if str(getattr(data, "status", "")).lower() in {"error", "fail"}:
            self.failed += 1
        quarter = 4 * self.done // self.total
        if self.interactive:
            sys.stdout.write(f"\r      {self.line()}")
            sys.stdout.flush()
        elif quarter > self._last_quarter:
            self._last_quarter = quarter
            self.say(self.line())

    def line(self) -> str:
        failed = f", {self.failed} failed" if self.failed else ""
        return f"{self.label}: {self.done}/{self.total} nodes{failed} ({time.monotonic() - self.started:.0f}s)"

    def finish(self) -> None:
        if self.interactive and self.done:
            sys.stdout.write("\n")
            sys.stdout.flush()


def run_dbt(
    args: Sequence[str],
    settings: Settings,
    *,
    progress: Callable[[str], None] | None = None,
) -> list[DbtNodeResult]:
    """Invoke `dbt <args>` on this project, pointed at settings.warehouse_path; returns its nodes' results.

    `progress` receives a few "dbt build: 120/417 nodes" lines (none when omitted).
    Raises DbtFailed naming every failed model or test (its `results` hold every node's), so
    callers can report it.
    """
    from dbt.cli.main import dbtRunner  # imported here: dbt is slow to import

    from segmentation.dbt_secrets import secrets_for_dbt  # a dbt-duckdb plugin: imports dbt

    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    verbose = os.environ.get("SEGMENTATION_DBT_VERBOSE", "") not in {"", "0", "false"}
    interactive = sys.stdout.isatty()
    console = [] if verbose else ["--quiet"]
    colours = ["--use-colors"] if interactive else ["--no-use-colors"]
    full_args = [
        *args,
        *console,
        *colours,
        "--project-dir", str(settings.project_dir),
        "--profiles-dir", str(settings.project_dir),
    ]
    counter = _NodeCounter(f"dbt {args[0]}" if args else "dbt", progress or (lambda _: None),
                           interactive and progress is not None)
    marker = build_marker(settings.warehouse_path) if args and args[0] in _WRITING_COMMANDS else None
    if marker is not None and _marker_owner_running(marker):
        marker = None  # another build runs: dbt will stop at its lock; its marker stays its own
    if marker is not None:
        marker.write_text(f"{os.getpid()}\n", encoding="utf-8")
    try:
        # dbt runs in this process and reads its profile's paths from the environment: set
        # them for this call only, so the caller's environment is left as it was. Secrets go
        # to the engine beside dbt, never through it (segmentation/dbt_secrets.py).
        with (temporary_environment(settings.dbt_env()),
              temporary_environment(secrets_for_dbt(dbt_target(), settings.project_dir))):
            result = dbtRunner(callbacks=[counter] if progress and not verbose else []).invoke(full_args)
    finally:
        counter.finish()
        _release_warehouse()
        if marker is not None:  # not reached when the process is killed: that is the point
            marker.unlink(missing_ok=True)
    results = _node_results(result)
    if result.success:
        return results
    failed = [f"{r.unique_id}: {r.message}" for r in results if r.status in {"error", "fail", "runtime error"}]
    detail = "\n  ".join(failed) if failed else str(result.exception or "see the dbt log")
    raise DbtFailed(
        f"dbt {' '.join(args)} failed:\n  {detail}\n(full dbt log: {dbt_log_path(settings)})", results
    )


def _marker_owner_running(marker: Path) -> bool:
    try:
        pid = int(marker.read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return False
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def temporary_environment(values: dict[str, str]) -> Iterator[None]:
    """Set these environment variables for the block only; the caller's environment is left as it was."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def dbt_log_path(settings: Settings) -> Path:
    """Where dbt writes its full log: DBT_LOG_PATH, else logs/ in the project."""
    folder = Path(os.environ.get("DBT_LOG_PATH") or settings.project_dir / "logs")
    return (folder if folder.is_absolute() else settings.project_dir / folder) / "dbt.log"


def _release_warehouse() -> None:
    """Close dbt-duckdb's cached connections so this process can reopen the file.

    dbt-duckdb keeps one DuckDB connection per process alive after an in-process run, and
    DuckDB refuses a second connection to the same file with another configuration (e.g.
    read_only) in that process.
    """
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # another adapter: nothing to release
        return
    DuckDBConnectionManager.close_all_connections()
    import gc

    gc.collect()
