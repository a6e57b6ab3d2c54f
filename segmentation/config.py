"""Where things live. Every path the CLI, dbt and Dagster use is read here, once.

Each setting comes from an environment variable with a default relative to the project
directory, so a fresh clone works without configuration and a deployment overrides only
what differs. The README's configuration table lists the same variables.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(os.environ.get("SEGMENTATION_PROJECT_DIR", Path(__file__).resolve().parent.parent))

# The dbt selection that builds one segment review (the review marts and what they need):
# the Dagster annual_review job's default and the CLI's previous review. Built with
# `--indirect-selection cautious`, so only the tests of what the review rebuilds run. Every
# mart of the review's date is in it, so a published review is consistent: the economics,
# the hand-off, the entitlement gaps, the semantic layer's current review and the
# service-policy what-if too.
# The profitability and CLV marts are listed because the gate checks the review's segments
# against them: they must describe the same review date.
REVIEW_SELECT = (
    "+segment_movers +segment_migrations +segment_economics +customer_service_handoff"
    " +customer_entitlement_gaps +customer_review_current +policy_scenarios +policy_scenario_impacts"
    " +customer_profitability +customer_lifetime_profitability +customer_clv"
)


@dataclass(frozen=True)
class Settings:
    """Resolved locations of the project's inputs and outputs."""

    project_dir: Path
    data_dir: Path
    landing_dir: Path
    ground_truth_dir: Path
    raw_dir: Path
    warehouse_path: Path
    published_path: Path
    parquet_dir: Path
    reports_dir: Path

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        project_dir = Path(env.get("SEGMENTATION_PROJECT_DIR", PROJECT_DIR)).resolve()
        data_dir = _path(env, "SEGMENTATION_DATA_DIR", project_dir / "data", project_dir)
        published_path = _path(
            env, "SEGMENTATION_PUBLISHED_PATH", data_dir / "published" / "warehouse.duckdb", project_dir
        )
        return cls(
            project_dir=project_dir,
            data_dir=data_dir,
            landing_dir=_path(env, "SEGMENTATION_LANDING_DIR", data_dir / "landing", project_dir),
            ground_truth_dir=_path(
                env, "SEGMENTATION_GROUND_TRUTH_DIR", data_dir / "ground_truth", project_dir
            ),
            raw_dir=_path(env, "SEGMENTATION_RAW_DIR", data_dir / "raw", project_dir),
            warehouse_path=_path(
                env, "SEGMENTATION_WAREHOUSE_PATH", data_dir / "warehouse.duckdb", project_dir
            ),
            published_path=published_path,
            parquet_dir=_path(env, "SEGMENTATION_PARQUET_DIR", published_path.parent / "parquet", project_dir),
            reports_dir=_path(env, "SEGMENTATION_REPORTS_DIR", data_dir / "reports", project_dir),
        )

    @property
    def dbt_docs_index(self) -> Path:
        """dbt docs as one static page (`dbt docs generate --static`), which a browser opens from a
        file: in dbt's target path (DBT_TARGET_PATH, default target/)."""
        target = Path(os.environ.get("DBT_TARGET_PATH", "target"))
        return (target if target.is_absolute() else self.project_dir / target) / "static_index.html"

    @property
    def gx_docs_index(self) -> Path:
        """The Great Expectations Data Docs site the quality gate renders."""
        return self.project_dir / "expectations" / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"

    def dbt_env(self) -> dict[str, str]:
        """Environment variables that point dbt's profile at this warehouse and raw zone, with
        the same DuckDB resources as every other step (the profile alone cannot count cores)."""
        resources = duckdb_settings()
        return {
            "SEGMENTATION_WAREHOUSE_PATH": str(self.warehouse_path),
            "SEGMENTATION_RAW_DIR": str(self.raw_dir),
            "SEGMENTATION_DUCKDB_MEMORY_LIMIT": resources["memory_limit"],
            "SEGMENTATION_DUCKDB_THREADS": resources["threads"],
        }


# DuckDB's buffer pool cap in every step (loader, dbt, gate, publish, export). A stage's peak
# RSS is this plus DuckDB's and Python's own overhead (up to ~1.2 GB measured at 1M customers with 3GB,
# a 4.1 GB peak), so 2560MB keeps each stage under 4 GB.
DEFAULT_DUCKDB_MEMORY_LIMIT = "2560MB"


def duckdb_settings(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """DuckDB settings for every step that opens DuckDB itself (loader, gate, publish, export).

    dbt's profile reads the same variables. SEGMENTATION_DUCKDB_MEMORY_LIMIT (default 2560MB)
    caps DuckDB's buffer pool: past it DuckDB spills to its temp directory instead of
    growing. SEGMENTATION_DUCKDB_THREADS defaults to the CPU count. Apply with
    `SET <name> = '<value>'` on each connection, or pass as `duckdb.connect(config=...)`.
    """
    env = os.environ if environ is None else environ
    return {
        "memory_limit": env.get("SEGMENTATION_DUCKDB_MEMORY_LIMIT") or DEFAULT_DUCKDB_MEMORY_LIMIT,
        "threads": env.get("SEGMENTATION_DUCKDB_THREADS") or str(os.cpu_count() or 1),
    }


def _path(env: os._Environ[str] | dict[str, str], name: str, default: Path, base: Path) -> Path:
    value = env.get(name)
    if not value:
        return default.resolve()
    path = Path(value)
    return (path if path.is_absolute() else base / path).resolve()
