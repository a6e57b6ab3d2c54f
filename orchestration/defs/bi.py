"""What BI tools and people read after a publish: the Parquet export and the review report.

Both read the published file only, so they never wait for (or block) a dbt build.
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
    from segmentation.publish.parquet_export import export_parquet  # imported when run: keeps definitions light

    settings = segmentation.settings()
    result = export_parquet(settings.published_path, settings.parquet_dir)
    context.log.info(result.summary())
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(result.current)),
            "tables": len(result.tables),
            "rows": sum(result.tables.values()),
            "files": result.files,
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
    from segmentation.report.review import write_report

    settings = segmentation.settings()
    result = write_report(
        settings.published_path, settings.reports_dir,
        dbt_docs=settings.dbt_docs_index, gx_docs=settings.gx_docs_index,
    )
    for note in result.notes:
        context.log.warning(note)
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(result.path)),
            "review_id": result.review_id,
            "charts": len(result.charts),
        }
    )
