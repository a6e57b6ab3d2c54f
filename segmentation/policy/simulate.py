"""`segmentation simulate`: build the what-if marts with proposed policies and return the impact table."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb

from segmentation.config import Settings
from segmentation.errors import UsageError
from segmentation.policy.scenarios import read_policy_file, scenario_names
from segmentation.policy.table import impact_table

# The what-if models and their tests; everything they read is built by `segmentation run`.
WHAT_IF_SELECTION = "int_policy_scenarios_defined+ int_policy_customer_channel_costs+"


def simulate(
    settings: Settings,
    policies: Sequence[tuple[Path, str | None]],
    dbt_vars: Mapping[str, Any],
    *,
    progress: Callable[[str], None] | None = None,
) -> str:
    """Check the policy files, build the what-if marts with them, and return the impact table."""
    from segmentation.dbt_runner import run_dbt
    from segmentation.dbt_vars import dbt_vars_argument, validate_vars

    rows: list[dict[str, str]] = []
    for path, name in policies:
        file_rows = read_policy_file(path, name, settings.project_dir)
        clash = set(scenario_names(file_rows)) & set(scenario_names(rows))
        if clash:
            raise UsageError(f"{path}: scenario {sorted(clash)[0]!r} is given twice; name each file's scenario "
                             "differently (--name)")
        rows += file_rows
    if "policy_scenarios" in dbt_vars and rows:
        raise UsageError("give proposed policies either as --policy files or as the var policy_scenarios, not both")
    _require_built_warehouse(settings.warehouse_path)
    all_vars = validate_vars({**dbt_vars, **({"policy_scenarios": rows} if rows else {})})
    run_dbt(["build", "--select", WHAT_IF_SELECTION, *dbt_vars_argument(all_vars)], settings, progress=progress)
    proposed = scenario_names(all_vars.get("policy_scenarios", []))
    return impact_table(settings.warehouse_path, proposed or _seeded(settings.warehouse_path))


def _require_built_warehouse(warehouse_path: Path) -> None:
    """The what-if reads the current review's marts: a warehouse without them is a usage error."""
    if warehouse_path.exists():
        con = duckdb.connect(str(warehouse_path), read_only=True)
        try:
            built = con.execute(
                "select count(*) from information_schema.tables"
                " where table_schema = 'marts' and table_name = 'customer_service_assignment'"
            ).fetchone()[0]
        finally:
            con.close()
        if built:
            return
    raise UsageError(f"{warehouse_path}: no built review to simulate on; run `segmentation run` first")


def _seeded(warehouse_path: Path) -> list[str]:
    """Without files, the table details the shipped scenarios."""
    con = duckdb.connect(str(warehouse_path), read_only=True)
    try:
        return [row[0] for row in con.execute(
            "select scenario from marts.policy_scenarios where scenario <> 'current policy' order by scenario"
        ).fetchall()]
    finally:
        con.close()
