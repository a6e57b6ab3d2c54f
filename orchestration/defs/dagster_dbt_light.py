"""dagster-dbt, imported without loading dbt-core into the Dagster process.

Importing `dagster_dbt` imports `dagster_dbt.compat`, which probes for dbt-core and, when it
is installed, imports dbt's adapter, result and node-type modules: about 2.5 s, more than
half of what loading these definitions took. None of it is needed to load them:

- building the asset and check specs reads target/manifest.json. With dbt-core loaded,
  dagster-dbt evaluates the default selection (every node) with dbt's selection engine;
  without it, it reads the same nodes straight from the manifest;
- dbt itself runs as a subprocess (`DbtCliResource.cli`), never in this process;
- the rest of compat are the names of dbt's node types and statuses, which dagster-dbt
  defines itself for environments without dbt-core (dbt Fusion), with the same values.

So dagster-dbt is imported here as in an environment without dbt-core: `dbt.version` is
hidden for that one import and put back right after, so whatever imports dbt later (the
dbt runner, GX) gets the real package. tests/test_definitions_load.py checks that the
definitions come out identical with dbt-core loaded first, which is also what happens here
when dbt-core or dagster-dbt was already imported when this module is (nothing to save then).

Every import of dagster-dbt in this project goes through this module (ruff rule TID251).
"""

import importlib.metadata
import sys

from dagster_shared.libraries import DagsterLibraryRegistry


def _import_dagster_dbt_without_dbt_core() -> None:
    if "dagster_dbt" in sys.modules or "dbt.version" in sys.modules:
        return
    sys.modules["dbt.version"] = None  # type: ignore[assignment]  # `import dbt.version` -> ImportError
    try:
        import dagster_dbt  # noqa: F401, TID251
    finally:
        if "dbt.version" in sys.modules and sys.modules["dbt.version"] is None:
            del sys.modules["dbt.version"]
    # Not seeing dbt-core, dagster-dbt lists "dbt-fusion" among the code location's libraries
    # (shown in the UI). The dbt this project runs is dbt-core: list that instead.
    # (The registry has no public way to remove an entry.)
    getattr(DagsterLibraryRegistry, "_libraries", {}).pop("dbt-fusion", None)
    DagsterLibraryRegistry.register("dbt-core", importlib.metadata.version("dbt-core"), is_dagster_package=False)


_import_dagster_dbt_without_dbt_core()

from dagster_dbt import (  # noqa: E402, TID251
    DagsterDbtTranslator,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)


class SubprocessDbtCliResource(DbtCliResource):
    """`DbtCliResource` that runs dbt only as the CLI subprocess, with no dbt adapter in-process.

    Before each `cli(...)` with a dbt-core executable, dagster-dbt also builds a dbt adapter in
    the Dagster process (loads the profile, project and macros; without the version probe
    above it would fail and log a warning with a traceback on every run). It serves only
    `fetch_row_counts()` and `fetch_column_metadata()`, which this project does not use;
    without it dagster-dbt works as it does with dbt Fusion. Overrides a private method:
    tests/test_definitions_load.py fails if dagster-dbt renames it.
    """

    def _initialize_dbt_core_adapter(self, args):
        return None


__all__ = ["DagsterDbtTranslator", "DbtCliResource", "DbtProject", "SubprocessDbtCliResource", "dbt_assets"]
