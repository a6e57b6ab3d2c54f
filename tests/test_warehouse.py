"""The foundation on the generated sample: nothing lost, and quarantine catches what was injected."""

from __future__ import annotations

import csv

import pytest

from segmentation.ingest.contract import load_contract

pytestmark = pytest.mark.slow

# The generator's defect names -> the quarantine reason that must catch them.
EXPECTED_REASON = {
    "unknown_customer": "unknown_customer",
    "unknown_product": "unknown_product",
    "non_positive_quantity": "non_positive_quantity",
    "ordered_in_future": "ordered_in_future",
    "closed_before_opened": "closed_before_opened",
    "currency_mismatch": "currency_mismatch",
}
DUPLICATE_REASON = {
    "customers": "duplicate_customer_id",
    "orders": "duplicate_order_id",
    "support_tickets": "duplicate_ticket_id",
    "order_lines": "duplicate_order_line_id",
}


def injected_defects(built_warehouse) -> list[dict[str, str]]:
    with (built_warehouse.ground_truth_dir / "injected_defects.csv").open(newline="") as fh:
        return list(csv.DictReader(fh))


def test_every_entity_is_reconciled_from_file_to_clean_and_quarantined(built_warehouse) -> None:
    rows = built_warehouse.query(
        "select entity, file_rows_read, raw_rows, clean_rows, quarantined_rows, is_reconciled "
        "from audit.audit_row_reconciliation order by entity"
    )
    assert {r[0] for r in rows} == set(load_contract().names)
    for entity, read, raw, clean, quarantined, reconciled in rows:
        assert reconciled, entity
        assert read == raw == clean + quarantined, entity
        assert clean > 0, f"{entity} has no clean rows"


def test_reconciliation_fails_when_loaded_rows_go_missing(built_warehouse, tmp_path) -> None:
    """The accounting can fail: a committed load's data file of order lines cut to its first
    100 rows in the raw zone (rows lost after the load) makes the entity unreconciled and
    the build fail."""
    import duckdb
    from conftest import _copy_warehouse, _query

    from segmentation.dbt_runner import DbtFailed, run_dbt
    from segmentation.ingest.raw_zone import load_id_of

    settings = _copy_warehouse(built_warehouse.path, tmp_path / "data")
    # A data file, never the zero-row `_schema.parquet`: load ids are random hex, so sorting
    # by name put the schema file first whenever a load id began with a letter.
    data_file = next(p for p in sorted((settings.raw_dir / "order_lines").glob("*.parquet")) if load_id_of(p))
    cut = tmp_path / "cut.parquet"
    duckdb.execute(f"copy (select * from read_parquet('{data_file}') limit 100) to '{cut}' (format parquet)")
    cut.replace(data_file)

    with pytest.raises(DbtFailed, match="assert_every_raw_row_is_clean_or_quarantined"):
        run_dbt(["build", "--select", "audit_row_reconciliation"], settings)

    rows = _query(settings, "select entity, file_rows_loaded, raw_rows, is_reconciled"
                            " from audit.audit_row_reconciliation where not is_reconciled")
    assert [entity for entity, *_ in rows] == ["order_lines"]
    assert rows[0][1] > rows[0][2] >= 100


def test_quarantine_holds_exactly_the_injected_defects(built_warehouse) -> None:
    defects = injected_defects(built_warehouse)
    assert len(defects) > 20, "the sample should carry defects to exercise quarantine"

    quarantined = {
        (entity, key): reason
        for entity, key, reason in built_warehouse.query(
            "select entity, record_key, quarantine_reason from audit.audit_quarantine"
        )
    }
    for defect in defects:
        key = (defect["entity"], defect["record_key"])
        assert key in quarantined, f"injected {defect['defect']} not quarantined: {key}"
        expected = DUPLICATE_REASON[defect["entity"]] if defect["defect"] == "duplicate_id" else EXPECTED_REASON[
            defect["defect"]
        ]
        assert expected in quarantined[key], (key, quarantined[key])
    # Nothing else: clean sample rows are never quarantined (a duplicate is one quarantined row).
    assert len(quarantined) == len({(d["entity"], d["record_key"]) for d in defects})


def test_duplicates_keep_the_version_loaded_last(built_warehouse) -> None:
    rows = built_warehouse.query(
        """
        select count(*) from intermediate.int_orders_validated as v
        where v.version_rank = 1 and v.is_quarantined
          and v.quarantine_reason like '%duplicate%'
        """
    )
    assert rows == [(0,)]


def test_load_manifest_records_every_landing_file_once(built_warehouse) -> None:
    files = sorted(
        str(p.relative_to(built_warehouse.landing_dir)) for p in built_warehouse.landing_dir.rglob("*.csv")
    )
    manifest = built_warehouse.query("select file_path from raw._load_manifest order by file_path")
    assert [f for (f,) in manifest] == files
