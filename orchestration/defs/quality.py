"""Great Expectations suites as blocking Dagster asset checks.

One check per suite, attached to the dbt asset whose table the suite validates. The suites
run in two ops (each one read-only pass over the warehouse), one per step of the dbt op:
Dagster runs dbt in two steps around the CLV step (orchestration/defs/clv.py), first every
model that does not depend on it, then the models that do. One op for both would be a cycle:
the second dbt step waits for the blocking checks on the first's assets. a suite with a failed critical
expectation yields an ERROR result, which stops downstream assets (the publish step) in the
same run. Warning-level failures yield WARN results and block nothing.
(dagster-ge still requires GX < 1.0, so the checks call GX 1.x through segmentation.quality.)
"""

import dagster as dg

from orchestration.defs.resources import WAREHOUSE_POOL, SegmentationResource
from segmentation.quality.suites import SuiteSpec, default_suites


def asset_key_for(relation: str) -> dg.AssetKey:
    """dbt models are keyed <schema>/<model> by dagster-dbt here; suites name schema.table."""
    return dg.AssetKey(relation.split("."))


SUITES: list[SuiteSpec] = default_suites()


def _specs(asset_keys: set[dg.AssetKey]) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(
            name=f"gx_{suite.name}",
            asset=asset_key_for(suite.relation),
            blocking=True,
            description=suite.description or f"Great Expectations suite {suite.name}",
        )
        for suite in SUITES
        if asset_key_for(suite.relation) in asset_keys
    ]


def build_quality_checks(
    asset_keys: set[dg.AssetKey], name: str = "great_expectations_suites"
) -> dg.AssetChecksDefinition:
    specs = _specs(asset_keys)
    by_name = {spec.name: spec for spec in specs}

    @dg.multi_asset_check(specs=specs, name=name, pool=WAREHOUSE_POOL)
    def great_expectations_suites(context: dg.AssetCheckExecutionContext, segmentation: SegmentationResource):
        from segmentation.quality.gate import validate_warehouse

        settings = segmentation.settings()
        suites = [s for s in SUITES if f"gx_{s.name}" in by_name]
        report = validate_warehouse(
            settings.warehouse_path, suites=suites, gx_project_dir=settings.project_dir / "expectations",
            dbt_project_dir=settings.project_dir, progress=context.log.info,
        )
        if report.docs_index:
            context.log.info(f"GX Data Docs: {report.docs_index}")
        for suite in suites:
            checks = [c for c in report.checks if c.suite == suite.name]
            critical = [c for c in checks if not c.success and c.blocking]
            warnings = [c for c in checks if not c.success and not c.blocking]
            yield dg.AssetCheckResult(
                check_name=f"gx_{suite.name}",
                asset_key=by_name[f"gx_{suite.name}"].asset_key,
                passed=not critical and not warnings,
                severity=dg.AssetCheckSeverity.ERROR if critical else dg.AssetCheckSeverity.WARN,
                metadata={
                    "expectations": len(checks),
                    "failed_critical": [c.describe() for c in critical],
                    "failed_warning": [c.describe() for c in warnings],
                    "skipped": any(reason.startswith(suite.name) for reason in report.skipped),
                    "data_docs": str(report.docs_index or ""),
                },
            )

    return great_expectations_suites
