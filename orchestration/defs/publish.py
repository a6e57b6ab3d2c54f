"""The file BI tools read: the marts and audit schemas, replaced atomically after the checks."""

import dagster as dg

from orchestration.defs.monitoring import published_freshness
from orchestration.defs.resources import WAREHOUSE_POOL, SegmentationResource

# segmentation.publish (and DuckDB with it) is imported when the asset runs.


def build_published_warehouse(upstream: list[dg.AssetKey]) -> dg.AssetsDefinition:
    @dg.asset(
        key=dg.AssetKey(["published_warehouse"]),
        deps=upstream,
        group_name="publish",
        kinds={"duckdb"},
        pool=WAREHOUSE_POOL,
        freshness_policy=published_freshness,
        description="Copy of the marts and audit schemas, swapped in with an atomic rename. "
        "Runs only when every blocking check upstream (dbt tests, GX suites) passed in this run.",
    )
    def published_warehouse(context: dg.AssetExecutionContext, segmentation: SegmentationResource):
        from segmentation.publish.warehouse import BI_SCHEMAS, publish

        settings = segmentation.settings()
        result = publish(settings.warehouse_path, settings.published_path, BI_SCHEMAS)
        context.log.info(result.summary())
        return dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(str(settings.published_path)),
                "tables": len(result.tables),
                "rows": sum(result.tables.values()),
                "seconds": result.seconds,
            }
        )

    return published_warehouse
