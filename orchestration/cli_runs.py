"""Record what a `segmentation run` did in the project's Dagster instance.

There is one orchestration path with two front ends. Dagster's jobs and the CLI call the same
functions (segmentation.ingest.load, dbt build, segmentation.quality, segmentation.publish);
the CLI runs them directly because that is 1.5-2x faster than executing the Dagster job in
process and keeps its console to a few lines. Afterwards it reports every asset it
materialized and every check it evaluated to the Dagster instance in DAGSTER_HOME (default
`<data dir>/dagster_home`, the one `make dev` uses), so the UI shows the same state whichever
front end built the warehouse:

- the raw tables, after each load;
- each dbt model, seed and snapshot dbt built successfully, and each dbt test as a check;
- the `clv` tables the CLV step wrote (the asset clv_scores, between dbt's two builds);
- each Great Expectations suite as a check, with links to its gate page;
- `published_warehouse`, `bi_parquet_export` and `review_report` when they were written.

The events carry the tag `segmentation/front_end: cli`. Nothing here runs during a Dagster run.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from segmentation.clv.relations import CLV_SCHEMA
from segmentation.config import PROJECT_DIR, Settings
from segmentation.dbt_runner import DbtNodeResult

FRONT_END = {"segmentation/front_end": "cli"}
# dbt statuses: a built node is a materialization; a test's status is its check result.
BUILT = {"success"}
TEST_PASSED = {"pass"}
TEST_WARNED = {"warn"}


@dataclass
class RecordedRun:
    dagster_home: Path
    materializations: int
    checks: int

    def summary(self) -> str:
        return (
            f"Dagster: recorded {self.materializations} materializations and {self.checks} check results "
            f"in {self.dagster_home} (make dev shows them)"
        )


def dagster_home(settings: Settings) -> Path:
    """DAGSTER_HOME, or the data folder's dagster_home with the project's instance settings."""
    home = Path(os.environ.get("DAGSTER_HOME") or settings.data_dir / "dagster_home")
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        shutil.copyfile(PROJECT_DIR / "orchestration" / "dagster.yaml", config)
    return home


def _dbt_keys(graph) -> tuple[dict[str, dg.AssetKey], dict[str, dg.AssetCheckKey]]:
    """dbt unique ids -> the asset and check keys dagster-dbt gave them."""
    assets, checks = {}, {}
    for key in graph.get_all_asset_keys():
        unique_id = graph.get(key).metadata.get("dagster_dbt/unique_id")
        if unique_id:
            assets[unique_id] = key
    for check_key in graph.asset_check_keys:
        unique_id = (graph.get_check_spec(check_key).metadata or {}).get("dagster_dbt/unique_id")
        if unique_id:
            checks[unique_id] = check_key
    return assets, checks


def _dbt_events(graph, results: Iterable[DbtNodeResult], invocation_id: str | None) -> list:
    asset_keys, check_keys = _dbt_keys(graph)
    events = []
    for result in results:
        metadata = {"execution_seconds": round(result.seconds, 3), "dbt_invocation_id": invocation_id or ""}
        if result.unique_id in asset_keys and result.status in BUILT:
            events.append(dg.AssetMaterialization(asset_key=asset_keys[result.unique_id], metadata=metadata,
                                                  tags=FRONT_END))
        elif result.unique_id in check_keys and result.status != "skipped":
            check_key = check_keys[result.unique_id]
            events.append(dg.AssetCheckEvaluation(
                asset_key=check_key.asset_key,
                check_name=check_key.name,
                passed=result.status in TEST_PASSED,
                severity=dg.AssetCheckSeverity.WARN if result.status in TEST_WARNED else dg.AssetCheckSeverity.ERROR,
                metadata={**metadata, "status": result.status, "message": result.message},
            ))
    return events


def _quality_events(quality_report) -> list:
    from orchestration.defs.quality import SUITES, asset_key_for, suite_outcome

    events = []
    for suite in SUITES:
        if not any(check.suite == suite.name for check in quality_report.checks):
            continue
        passed, severity, metadata = suite_outcome(quality_report, suite)
        events.append(dg.AssetCheckEvaluation(
            asset_key=asset_key_for(suite.relation), check_name=f"gx_{suite.name}",
            passed=passed, severity=severity, metadata=metadata,
        ))
    return events


def record_cli_run(
    settings: Settings,
    *,
    load_report=None,
    dbt_results: Iterable[DbtNodeResult] = (),
    dbt_invocation_id: str | None = None,
    pipeline_result=None,
    report_path: Path | None = None,
) -> RecordedRun:
    """Report one CLI run's materializations and check results to the Dagster instance."""
    from orchestration.definitions import defs
    from orchestration.defs.ingestion import LOADER_KEYS, RAW_KEYS

    graph = defs.resolve_asset_graph()
    events: list = []
    if load_report is not None:
        loaded = load_report.rows("rows_loaded")
        events += [
            dg.AssetMaterialization(asset_key=key, metadata={"rows_loaded": loaded.get(key.path[-1], 0)},
                                    tags=FRONT_END)
            for key in RAW_KEYS
        ]
        events += [dg.AssetMaterialization(asset_key=key, metadata={"load_id": load_report.load_id}, tags=FRONT_END)
                   for key in LOADER_KEYS]
    events += _dbt_events(graph, dbt_results, dbt_invocation_id)
    if pipeline_result is not None and pipeline_result.clv is not None:
        events += [
            dg.AssetMaterialization(asset_key=dg.AssetKey([CLV_SCHEMA, table]), tags=FRONT_END,
                                    metadata={"rows": rows, "engine": pipeline_result.clv.engine})
            for table, rows in pipeline_result.clv.rows.items()
        ]
    if pipeline_result is not None and pipeline_result.quality is not None:
        events += _quality_events(pipeline_result.quality)
    if pipeline_result is not None and pipeline_result.published:
        events.append(dg.AssetMaterialization(
            asset_key=dg.AssetKey(["published_warehouse"]), tags=FRONT_END,
            metadata={"path": dg.MetadataValue.path(str(pipeline_result.published_path))},
        ))
        if pipeline_result.export is not None:
            events.append(dg.AssetMaterialization(asset_key=dg.AssetKey(["bi_parquet_export"]), tags=FRONT_END))
    if report_path is not None:
        events.append(dg.AssetMaterialization(
            asset_key=dg.AssetKey(["review_report"]), tags=FRONT_END,
            metadata={"path": dg.MetadataValue.path(str(report_path))},
        ))

    home = dagster_home(settings)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        for event in events:
            instance.report_runless_asset_event(event)
    return RecordedRun(
        dagster_home=home,
        materializations=sum(isinstance(e, dg.AssetMaterialization) for e in events),
        checks=sum(isinstance(e, dg.AssetCheckEvaluation) for e in events),
    )
