"""The dbt project as Dagster assets; dbt tests become asset checks.

The CLV step sits inside the dbt graph: clv_scores (orchestration/defs/clv.py) reads
int_customer_rfm_summarized and writes the `clv` tables, which the source `clv` names as its
upstream assets (meta dagster.asset_key). dbt assets are subsettable, so Dagster runs the dbt
op in two steps around clv_scores: the models up to the RFM summary, then the rest.
"""


import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg

from orchestration.defs.dagster_dbt_light import (
    DagsterDbtTranslator,
    DbtCliResource,
    DbtProject,
    SubprocessDbtCliResource,
    dbt_assets,
)
from orchestration.defs.resources import WAREHOUSE_POOL, SegmentationResource
from segmentation.config import PROJECT_DIR

# dbt's command line as this project installs it next to this interpreter (the project's
# .venv), even when the venv is not activated: `segmentation-dbt` hands the engine its secrets
# first (segmentation/dbt_cli.py), which plain `dbt` in a subprocess cannot on PostgreSQL or
# Spark. Fall back to whatever is on PATH.
_VENV_DBT = Path(sys.executable).with_name("segmentation-dbt")
DBT_EXECUTABLE = str(_VENV_DBT) if _VENV_DBT.exists() else (shutil.which("segmentation-dbt") or "dbt")

dbt_project = DbtProject(
    project_dir=PROJECT_DIR,
    profiles_dir=PROJECT_DIR,
    target_path=Path(os.environ.get("SEGMENTATION_DBT_MANIFEST_DIR", "target")),
)
# The manifest is prepared at install time (`make setup` runs `dbt parse`) and re-parsed
# only under `dagster dev`, so importing the definitions stays fast. A missing manifest
# (fresh clone without `make setup`) is prepared once here rather than failing the import.
if os.environ.get("DAGSTER_IS_DEV_CLI") or not dbt_project.manifest_path.exists():
    subprocess.run(
        [DBT_EXECUTABLE, "parse", "--quiet", "--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR),
         "--target-path", str(dbt_project.project_dir / dbt_project.target_path)],
        check=True,
    )


class LayeredTranslator(DagsterDbtTranslator):
    """Group dbt assets by project folder (staging, intermediate, marts) as the UI's lineage."""

    def get_group_name(self, dbt_resource_props) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        if dbt_resource_props.get("resource_type") == "seed":
            return "seeds"
        return fqn[1] if len(fqn) > 2 else super().get_group_name(dbt_resource_props)


class DbtBuildConfig(dg.Config):
    """Run configuration: schedules set the review date; empty means dbt's defaults.

    policy_file (with policy_name): a proposed service policy, a CSV in the shape of
    seeds/service_policy.csv on the Dagster host, added to the what-if marts as a scenario
    (the var policy_scenarios, as `segmentation simulate --policy` does).
    """

    review_date: str | None = None
    full_refresh: bool = False
    policy_file: str | None = None
    policy_name: str | None = None


def dbt_build_args(config: DbtBuildConfig) -> list[str]:
    """The `dbt build` arguments of a run config; its vars checked (raises VarsError or PolicyFileError)."""
    from pathlib import Path

    from segmentation.dbt_vars import dbt_vars_argument, validate_vars
    from segmentation.policy.scenarios import read_policy_file

    dbt_vars: dict[str, object] = {}
    if config.review_date:
        dbt_vars["review_date"] = config.review_date
    if config.policy_file:
        dbt_vars["policy_scenarios"] = read_policy_file(Path(config.policy_file), config.policy_name)
    # Vars checked here: run config is typed by hand in the launchpad, and dbt renders vars into SQL.
    # cautious: a test runs in the selection that builds all its parents (the CLV step sits
    # between the two selections, so a test spanning both runs in the second).
    args = ["build", "--indirect-selection", "cautious", *dbt_vars_argument(validate_vars(dbt_vars))]
    if config.full_refresh:
        args.append("--full-refresh")
    return args


def _dbt_build(context: dg.AssetExecutionContext, dbt: DbtCliResource, segmentation: SegmentationResource,
               config: DbtBuildConfig):
    """`dbt build` of this selection's models, seeds and tests against the working warehouse."""
    # dbt's profile reads the warehouse path from the environment, like the CLI does.
    os.environ.update(segmentation.settings().dbt_env())
    from segmentation.dbt_vars import VarsError
    from segmentation.engines import release_warehouse
    from segmentation.policy.scenarios import PolicyFileError

    try:
        args = dbt_build_args(config)
    except (VarsError, PolicyFileError) as exc:
        raise dg.Failure(description=str(exc)) from exc
    release_warehouse()  # dbt runs as a subprocess: this process lets go of the warehouse first
    yield from dbt.cli(args, context=context).stream()


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    pool=WAREHOUSE_POOL,
    dagster_dbt_translator=LayeredTranslator(),
)
def warehouse_dbt_assets(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    segmentation: SegmentationResource,
    config: DbtBuildConfig,
):
    """`dbt build` of the selected models, seeds and tests. In a run that also materializes
    clv_scores, Dagster runs this op twice: the models up to the RFM summary, then the rest."""
    yield from _dbt_build(context, dbt, segmentation, config)


def dbt_resource() -> DbtCliResource:
    return SubprocessDbtCliResource(
        project_dir=dbt_project, profiles_dir=str(PROJECT_DIR), dbt_executable=DBT_EXECUTABLE
    )
