"""The CLV step as an asset between the two dbt selections (segmentation.clv.step)."""

import dagster as dg

from orchestration.defs.resources import WAREHOUSE_POOL, SegmentationResource
from segmentation.clv.relations import CLV_SCHEMA, CLV_TABLES, RFM_TABLE


def build_clv_scores(rfm_summary_key: dg.AssetKey) -> dg.AssetsDefinition:
    """One multi-asset for the `clv` tables: the source keys dbt's models hang off."""

    @dg.multi_asset(
        name="clv_scores",
        specs=[
            dg.AssetSpec(dg.AssetKey([CLV_SCHEMA, table]), deps=[rfm_summary_key], group_name="clv",
                         kinds={"python"}, description=f"{CLV_SCHEMA}.{table}: written by the CLV step")
            for table in CLV_TABLES
        ],
        pool=WAREHOUSE_POOL,
    )
    def clv_scores(context: dg.AssetExecutionContext, segmentation: SegmentationResource):
        """Fit BG/NBD and Gamma-Gamma on int_customer_rfm_summarized and score every customer,
        on the engine of the dbt target (SEGMENTATION_DBT_TARGET)."""
        from segmentation.clv.step import ClvStepError, clv_settings, run_clv_step
        from segmentation.engines import table_engine

        engine = table_engine(segmentation.settings())
        try:
            result = run_clv_step(engine, clv_settings())
        except ClvStepError as exc:
            raise dg.Failure(description=str(exc)) from exc
        finally:
            engine.close()
        context.log.info(result.summary())
        for table, rows in result.rows.items():
            yield dg.MaterializeResult(asset_key=dg.AssetKey([CLV_SCHEMA, table]),
                                       metadata={"rows": rows, "engine": result.engine})

    return clv_scores


def rfm_summary_key(dbt_keys: set[dg.AssetKey]) -> dg.AssetKey:
    return next(key for key in dbt_keys if key.path[-1] == RFM_TABLE)
