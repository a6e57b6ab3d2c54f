"""Run dbt in-process against the configured warehouse."""

from __future__ import annotations

import os
from collections.abc import Sequence

from segmentation.config import Settings


class DbtFailed(RuntimeError):
    """dbt returned failures; the message lists the nodes that failed."""


def run_dbt(args: Sequence[str], settings: Settings) -> None:
    """Invoke `dbt <args>` on this project, pointed at settings.warehouse_path.

    Raises DbtFailed naming every failed model or test, so callers can report it.
    """
    from dbt.cli.main import dbtRunner  # imported here: dbt is slow to import

    os.environ.update(settings.dbt_env())
    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    full_args = [
        *args,
        "--project-dir", str(settings.project_dir),
        "--profiles-dir", str(settings.project_dir),
    ]
    try:
        result = dbtRunner().invoke(full_args)
    finally:
        _release_warehouse()
    if result.success:
        return
    failed: list[str] = []
    for node_result in getattr(result.result, "results", None) or []:
        if str(node_result.status).lower() in {"error", "fail", "runtime error"}:
            failed.append(f"{node_result.node.unique_id}: {(node_result.message or '').strip()}")
    detail = "\n  ".join(failed) if failed else str(result.exception or "see the dbt log above")
    raise DbtFailed(f"dbt {' '.join(args)} failed:\n  {detail}")


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
