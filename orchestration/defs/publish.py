"""What BI tools read: the marts and audit schemas, replaced atomically after the checks, on the
engine of the dbt target (DuckDB: a new file renamed into place; Spark: a new published_v<time>
database and the views of `published` switched to it)."""

import dagster as dg

from orchestration.defs.monitoring import published_freshness
from orchestration.defs.resources import WAREHOUSE_POOL, SegmentationResource
from segmentation.engines import dbt_target

# segmentation.engines (and DuckDB or Spark with it) is imported when the asset runs.


def build_published_warehouse(upstream: list[dg.AssetKey]) -> dg.AssetsDefinition:
    @dg.asset(
        key=dg.AssetKey(["published_warehouse"]),
        deps=upstream,
        group_name="publish",
        kinds={dbt_target()},  # the engine the published tables live on
        pool=WAREHOUSE_POOL,
        freshness_policy=published_freshness,
        description="Copy of the marts and audit schemas, switched in atomically (DuckDB: a file rename; "
        "Spark: the views of `published`). Runs only when every blocking check upstream (dbt tests, "
        "GX suites) passed in this run.",
    )
    def published_warehouse(context: dg.AssetExecutionContext, segmentation: SegmentationResource):
        from segmentation.engines import warehouse_engine
        from segmentation.publish.warehouse import BI_SCHEMAS

        engine = warehouse_engine(segmentation.settings())
        result = engine.publish(BI_SCHEMAS)
        context.log.info(result.summary())
        return dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(str(engine.published_location)),
                "engine": engine.name,
                "tables": len(result.tables),
                "rows": sum(result.tables.values()),
                "seconds": result.seconds,
            }
        )

    return published_warehouse
