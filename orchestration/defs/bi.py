"""What BI tools and people read after a publish: the Parquet export and the review report.

Both read only what was published (DuckDB's published file, Spark's `published` views), through
the engine of the dbt target, so they never wait for (or block) a dbt build.
"""

import dagster as dg

from orchestration.defs.resources import SegmentationResource

PUBLISHED = dg.AssetKey(["published_warehouse"])


@dg.asset(
    key=dg.AssetKey(["bi_parquet_export"]),
    deps=[PUBLISHED],
    group_name="publish",
    kinds={"parquet"},
    description="The BI marts as Parquet, partitioned by review, under <published dir>/parquet/current "
    "(a symlink switched atomically to the new export).",
)
def bi_parquet_export(context: dg.AssetExecutionContext, segmentation: SegmentationResource):
    from segmentation.engines import warehouse_engine  # imported when run: keeps definitions light

    engine = warehouse_engine(segmentation.settings())
    result = engine.export_parquet()
    context.log.info(result.summary())
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(result.current)),
            "tables": len(result.tables),
            "rows": sum(result.tables.values()),
            "files": result.files,
            "engine": engine.name,
        }
    )


@dg.asset(
    key=dg.AssetKey(["review_report"]),
    deps=[PUBLISHED],
    group_name="publish",
    kinds={"html"},
    description="Self-contained HTML report of the published review (segment mix, whale curve, cost to "
    "serve vs contribution, migrations, CLV distribution, CLV diagnostics).",
)
def review_report(context: dg.AssetExecutionContext, segmentation: SegmentationResource):
    from segmentation.engines import warehouse_engine
    from segmentation.report.review import write_report

    settings = segmentation.settings()
    engine = warehouse_engine(settings)
    result = write_report(
        engine, settings.reports_dir,
        dbt_docs=settings.dbt_docs_index, gx_docs=settings.gx_docs_index,
    )
    for note in result.notes:
        context.log.warning(note)
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(result.path)),
            "review_id": result.review_id,
            "charts": len(result.charts),
            "engine": engine.name,
        }
    )
