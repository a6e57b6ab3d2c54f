"""What loading the Dagster definitions imports, and that the fast way builds the same thing.

No timing here (bench/definitions_load.py times it): these check the structure that keeps
the load fast. Each loads the definitions in a fresh interpreter, since this test session
may have imported dbt, GX or pandas already.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
# Needed when a run or a check executes, never to load the definitions.
NOT_AT_LOAD = [
    "dbt.version",  # dbt-core (dagster-dbt would import it, see orchestration/defs/dagster_dbt_light.py)
    "dbt_common",
    "great_expectations",
    "pandas",
    "scipy",
    "numpy",
    "duckdb",
    "segmentation.quality.gate",
    "segmentation.ingest.load",
    "segmentation.publish.warehouse",
    "segmentation.pipeline",
]


def in_fresh_interpreter(*args: str) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, *args], cwd=PROJECT_DIR, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


def test_loading_the_definitions_imports_no_dbt_core_gx_pandas_or_duckdb() -> None:
    loaded = in_fresh_interpreter("load")

    assert loaded["heavy_modules"] == []
    assert loaded["dbt_python_version"] is None, "dagster-dbt was imported with dbt-core"
    assert loaded["assets"] > 70 and loaded["checks"] > 300


def test_the_ui_lists_dbt_core_not_dbt_fusion_among_the_libraries() -> None:
    import importlib.metadata

    libraries = in_fresh_interpreter("load")["libraries"]

    assert libraries.get("dbt-core") == importlib.metadata.version("dbt-core")
    assert "dbt-fusion" not in libraries


def test_definitions_are_the_same_as_with_dbt_core_loaded() -> None:
    """dagster-dbt builds the specs without dbt's selection engine here; nothing may differ."""
    fast = in_fresh_interpreter("fingerprint")
    with_dbt_core = in_fresh_interpreter("fingerprint", "--import-dbt-core-first")

    assert fast["dbt_python_version"] is None
    assert with_dbt_core["dbt_python_version"] is not None, "the comparison needs dagster-dbt with dbt-core"
    assert fast["definitions"] == with_dbt_core["definitions"]
    assert len(fast["definitions"]["checks"]) > 300


def test_the_dbt_resource_overrides_a_method_dagster_dbt_still_has() -> None:
    from orchestration.defs.dagster_dbt_light import DbtCliResource
    from orchestration.defs.dbt import dbt_resource

    # If dagster-dbt renames it, the override silently stops applying: fail here instead.
    assert callable(getattr(DbtCliResource, "_initialize_dbt_core_adapter", None))
    assert dbt_resource()._initialize_dbt_core_adapter(["build"]) is None


# ---- run in a fresh interpreter by the tests above -------------------------------------


def _without_addresses(value: object) -> str:
    return re.sub(r" at 0x[0-9a-f]+", "", repr(value))


def _fingerprint(defs) -> dict:
    graph = defs.resolve_asset_graph()
    assets = {}
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assets[key.to_user_string()] = {
            "parents": sorted(k.to_user_string() for k in node.parent_keys),
            "group": node.group_name,
            "description": node.description,
            "code_version": node.code_version,
            "tags": dict(node.tags),
            "kinds": sorted(node.kinds),
            "owners": list(node.owners),
            "metadata": {k: _without_addresses(v) for k, v in node.metadata.items()},
            "checks": sorted(k.name for k in node.check_keys),
            "partitions": _without_addresses(node.partitions_def),
        }
    checks = {
        f"{key.asset_key.to_user_string()}:{key.name}": _without_addresses(graph.get_check_spec(key))
        for key in graph.asset_check_keys
    }
    ops = {
        assets_def.node_def.name: sorted(f"{out}={key.to_user_string()}" for out, key in outputs.items())
        for assets_def in graph.assets_defs
        if (outputs := assets_def.keys_by_output_name)
    }
    return {
        "assets": assets,
        "checks": checks,
        "ops": ops,
        "jobs": sorted(job.name for job in defs.resolve_all_job_defs()),
        "schedules": sorted(s.name for s in defs.schedules),
        "sensors": sorted(s.name for s in defs.sensors),
        "resources": {name: type(r).__name__ for name, r in defs.resources.items()},
    }


def _main(args: list[str]) -> None:
    if "--import-dbt-core-first" in args:
        import dbt.version  # noqa: F401

    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    from dagster_dbt.compat import DBT_PYTHON_VERSION  # noqa: TID251  (already imported by the definitions)
    from dagster_shared.libraries import DagsterLibraryRegistry

    result: dict = {"dbt_python_version": str(DBT_PYTHON_VERSION) if DBT_PYTHON_VERSION else None}
    if args[0] == "load":
        result |= {
            "heavy_modules": [m for m in NOT_AT_LOAD if m in sys.modules],
            "libraries": DagsterLibraryRegistry.get(),
            "assets": len(graph.get_all_asset_keys()),
            "checks": len(graph.asset_check_keys),
        }
    else:
        result["definitions"] = _fingerprint(defs)
    print(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    sys.path.insert(0, str(PROJECT_DIR))
    _main(sys.argv[1:])
