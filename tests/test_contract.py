"""The contract in the dbt source YAML drives the loader and the docs; keep them in step."""

from __future__ import annotations

from pathlib import Path

import duckdb
import yaml

from segmentation.ingest.contract import load_contract, render_markdown, seed_values
from segmentation.ingest.load import METADATA_COLUMNS, load_landing

PROJECT_DIR = Path(__file__).resolve().parent.parent


def test_contract_document_is_current() -> None:
    rendered = render_markdown(load_contract(PROJECT_DIR)) + "\n"
    on_disk = (PROJECT_DIR / "docs" / "data_contract.md").read_text(encoding="utf-8")
    assert on_disk == rendered, "docs/data_contract.md is stale: run `make contract`"


def test_every_raw_column_is_described_and_every_entity_has_a_key() -> None:
    contract = load_contract(PROJECT_DIR)
    assert len(contract.entities) == 8
    for entity in contract.entities:
        assert entity.key, f"{entity.name} has no key column"
        assert entity.description
        for column in entity.columns:
            assert column.description, f"{entity.name}.{column.name} has no description"
            if column.key:
                # keys may only be nullable for the cost-rate channel (empty for non-support activities)
                assert not column.nullable or (entity.name, column.name) == ("cost_rates", "channel")


def test_pii_columns_are_marked() -> None:
    customers = load_contract(PROJECT_DIR).entity("customers")
    assert {c.name for c in customers.columns if c.pii} == {"customer_name", "email"}


def test_a_consumer_business_needs_no_firmographics_list_price_or_channels() -> None:
    contract = load_contract(PROJECT_DIR)
    optional = {
        "customers": {"customer_name", "email", "industry", "company_size_band", "country", "region",
                      "acquisition_channel"},
        "products": {"list_price"},
        "orders": {"sales_channel"},
    }
    for entity, columns in optional.items():
        for name in columns:
            column = contract.entity(entity).column(name)
            assert not column.required and column.nullable, f"{entity}.{name}"
    assert contract.entity("customers").required_columns == ("customer_id", "signup_date")


def test_channels_and_categories_are_allowed_by_seeds_the_dbt_project_declares() -> None:
    contract = load_contract(PROJECT_DIR)
    seeded = {
        (entity.name, column.name): column.allowed_seed
        for entity in contract.entities for column in entity.columns if column.allowed_seed
    }
    assert seeded == {
        ("customers", "acquisition_channel"): "acquisition_channels",
        ("acquisition_spend", "acquisition_channel"): "acquisition_channels",
        ("orders", "sales_channel"): "sales_channels",
        ("products", "category"): "product_categories",
    }
    declared = {s["name"]: s for s in yaml.safe_load((PROJECT_DIR / "seeds" / "_seeds.yml").read_text())["seeds"]}
    for (entity, name), seed in seeded.items():
        column = contract.entity(entity).column(name)
        assert not column.allowed, f"{entity}.{name}: a hard-coded list next to the seed"
        assert seed in declared, seed
        values = seed_values(seed, PROJECT_DIR)
        assert values and all(v == v.lower() for v in values), seed
        assert column.quarantine_reason_not_in_seed == f"{name}_not_in_seeds/{seed}.csv"
    document = render_markdown(contract)
    assert "values of seed `seeds/sales_channels.csv`" in document
    assert "## Consumer (B2C) data" in document


def test_raw_zone_files_have_exactly_the_contract_columns_before_any_data(tmp_path: Path) -> None:
    """An entity without landing files still reads with its typed columns (its schema file)."""
    (tmp_path / "landing").mkdir()
    raw_dir = tmp_path / "raw"
    load_landing(tmp_path / "landing", raw_dir)

    con = duckdb.connect()
    try:
        for entity in load_contract(PROJECT_DIR).entities:
            files = str(raw_dir / entity.name / "*.parquet").replace("'", "''")
            columns = con.execute(f"describe select * from read_parquet('{files}')").fetchall()
            expected = [(c.name, c.sql_type.replace(", ", ",")) for c in entity.columns] + list(METADATA_COLUMNS)
            assert [(name, sql_type) for name, sql_type, *_ in columns] == expected
    finally:
        con.close()
