"""Landing files -> the typed Parquet raw zone, and the sensor that notices new files."""


import hashlib
import json

import dagster as dg

from orchestration.defs.monitoring import raw_freshness
from orchestration.defs.resources import WAREHOUSE_POOL, SegmentationResource
from segmentation.ingest.contract import load_contract

# segmentation.ingest.load (and DuckDB with it) is imported where a run or a sensor tick needs it,
# not when the definitions load.

ENTITIES = load_contract().names
# Asset keys match dbt's source keys (source name, table), so dbt models hang off them.
RAW_KEYS = [dg.AssetKey(["landing", name]) for name in ENTITIES]
LOADER_KEYS = [dg.AssetKey(["loader", "_load_manifest"]), dg.AssetKey(["loader", "_load_rejects"])]


@dg.multi_asset(
    specs=[
        *[
            dg.AssetSpec(key, group_name="raw", kinds={"parquet"}, freshness_policy=raw_freshness,
                         description=f"raw.{key.path[-1]}: landing files typed by the contract (raw zone)")
            for key in RAW_KEYS
        ],
        dg.AssetSpec(LOADER_KEYS[0], group_name="raw", kinds={"parquet"},
                     description="raw._load_manifest: one row per loaded file"),
        dg.AssetSpec(LOADER_KEYS[1], group_name="raw", kinds={"parquet"},
                     description="raw._load_rejects: records that could not be parsed or typed"),
    ],
    pool=WAREHOUSE_POOL,
)
def raw_tables(context: dg.AssetExecutionContext, segmentation: SegmentationResource):
    """Load every new landing file into the raw zone (atomic; known files are skipped).

    Writes only the raw zone, not the warehouse; still in the warehouse pool, so a load and
    a dbt build do not interleave (a build reads the raw zone throughout)."""
    from segmentation.ingest.load import LoadError, load_landing

    settings = segmentation.settings()
    try:
        report = load_landing(settings.landing_dir, settings.raw_dir, progress=context.log.info)
    except LoadError as exc:
        raise dg.Failure(description=str(exc)) from exc
    for warning in report.warnings:
        context.log.warning(warning)
    loaded, rejected = report.rows("rows_loaded"), report.rows("rows_rejected")
    for key in RAW_KEYS:
        name = key.path[-1]
        yield dg.MaterializeResult(
            asset_key=key,
            metadata={
                "rows_loaded": loaded.get(name, 0),
                "rows_rejected": rejected.get(name, 0),
                "files_loaded": sum(1 for f in report.loaded_files if f.entity == name),
            },
        )
    for key in LOADER_KEYS:
        yield dg.MaterializeResult(asset_key=key, metadata={"load_id": report.load_id})


def landing_sensor_for(job) -> dg.SensorDefinition:
    @dg.sensor(
        job=job,
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description="Starts a refresh when a landing file appears that the sensor has not seen.",
    )
    def landing_file_sensor(context: dg.SensorEvaluationContext, segmentation: SegmentationResource):
        # The cursor keeps every (path, size, mtime) seen; the loader itself skips content it
        # has loaded before, so a file seen twice never loads twice either way.
        from segmentation.ingest.load import landing_files

        seen = set(json.loads(context.cursor)) if context.cursor else set()
        current = {
            f"{path}|{stat.st_size}|{int(stat.st_mtime)}"
            for path, stat in landing_files(segmentation.settings().landing_dir)
        }
        new = sorted(current - seen)
        if not new:
            return dg.SkipReason("no new landing files")
        context.update_cursor(json.dumps(sorted(current | seen)))
        return dg.RunRequest(
            run_key=hashlib.sha256("\n".join(new).encode()).hexdigest()[:16],
            tags={"segmentation/trigger": "landing_file"},
        )

    return landing_file_sensor
