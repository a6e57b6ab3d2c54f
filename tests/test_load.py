"""The loader: typed raw tables, rejects with file/line/column, idempotence, atomicity."""

from __future__ import annotations

import gzip
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from segmentation.ingest import load as load_module
from segmentation.ingest import raw_zone
from segmentation.ingest.load import LoadError, load_landing

PRODUCTS_HEADER = "product_id,product_name,category,list_price,unit_cost"


def write(landing: Path, entity: str, name: str, text: str | bytes) -> Path:
    path = landing / entity / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def query(raw_dir: Path, sql: str) -> list[tuple]:
    """`sql` over the raw zone's committed rows, as readers see them (views raw.<table>)."""
    with raw_zone.connect(raw_dir) as con:
        return con.execute(sql).fetchall()


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    return tmp_path / "landing"


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    """The raw zone (the name is kept from when raw was a schema of the warehouse)."""
    return tmp_path / "raw"


def test_good_file_loads_every_row_typed(landing: Path, warehouse: Path) -> None:
    write(landing, "products", "p.csv", f"{PRODUCTS_HEADER}\nP1,Widget,hardware,10.50,4.25\nP2,,software,99,10\n")

    report = load_landing(landing, warehouse)

    assert [(f.rows_read, f.rows_loaded, f.rows_rejected) for f in report.files] == [(2, 2, 0)]
    rows = query(
        warehouse, "select product_id, product_name, list_price, _source_line_number from raw.products order by 1"
    )
    assert rows == [("P1", "Widget", Decimal("10.5000"), 2), ("P2", None, Decimal("99.0000"), 3)]
    manifest = query(
        warehouse, "select entity, file_path, rows_read, rows_loaded, rows_rejected from raw._load_manifest"
    )
    assert manifest == [("products", "products/p.csv", 2, 2, 0)]


def test_missing_required_column_stops_the_load_naming_file_and_column(landing: Path, warehouse: Path) -> None:
    write(landing, "products", "good.csv", f"{PRODUCTS_HEADER}\nP1,W,hardware,1,1\n")
    bad = write(landing, "orders", "bad.csv", "order_id,customer_id,status,sales_channel\nO1,C1,completed,web\n")

    with pytest.raises(LoadError) as excinfo:
        load_landing(landing, warehouse)

    message = str(excinfo.value)
    assert str(bad) in message
    assert "missing required column 'ordered_at'" in message
    # Nothing from the load is kept: the good file was not loaded either.
    assert query(warehouse, "select count(*) from raw.products") == [(0,)]
    assert query(warehouse, "select count(*) from raw._load_manifest") == [(0,)]


def test_extra_columns_are_ignored_with_a_warning(landing: Path, warehouse: Path) -> None:
    write(landing, "products", "p.csv", f"{PRODUCTS_HEADER},colour\nP1,W,hardware,1,1,red\n")

    report = load_landing(landing, warehouse)

    assert any("extra column(s) colour" in w for w in report.warnings)
    assert query(warehouse, "select count(*), max(ignored_columns) from raw._load_manifest") == [(1, "colour")]
    assert query(warehouse, "select count(*) from raw.products") == [(1,)]


def test_untypable_value_is_rejected_with_line_column_and_raw_text(landing: Path, warehouse: Path) -> None:
    write(
        landing,
        "products",
        "p.csv",
        f"{PRODUCTS_HEADER}\nP1,W,hardware,1,1\nP2,W,hardware,ten,1\nP3,W,hardware,3,1\n",
    )

    report = load_landing(landing, warehouse)

    assert [(f.rows_read, f.rows_loaded, f.rows_rejected) for f in report.files] == [(3, 2, 1)]
    rejects = query(
        warehouse, "select file_path, line_number, column_name, reason, raw_value, raw_text from raw._load_rejects"
    )
    assert rejects == [("products/p.csv", 3, "list_price", "invalid_decimal", "ten", "P2,W,hardware,ten,1")]
    assert query(warehouse, "select product_id from raw.products order by 1") == [("P1",), ("P3",)]


def test_empty_value_in_non_nullable_column_is_rejected(landing: Path, warehouse: Path) -> None:
    write(landing, "products", "p.csv", f"{PRODUCTS_HEADER}\n,W,hardware,1,1\n")

    load_landing(landing, warehouse)

    assert query(warehouse, "select line_number, column_name, reason from raw._load_rejects") == [
        (2, "product_id", "missing_value")
    ]


def test_each_bad_column_of_a_record_is_reported(landing: Path, warehouse: Path) -> None:
    write(landing, "products", "p.csv", f"{PRODUCTS_HEADER}\nP1,W,hardware,x,y\n")

    report = load_landing(landing, warehouse)

    assert report.files[0].rows_rejected == 1
    assert query(warehouse, "select column_name from raw._load_rejects order by 1") == [("list_price",), ("unit_cost",)]


def test_malformed_line_is_rejected_and_later_lines_keep_their_numbers(landing: Path, warehouse: Path) -> None:
    write(
        landing,
        "products",
        "p.csv",
        f'{PRODUCTS_HEADER}\nP1,W,hardware,1,1\nP2,W,hardware,1,1,surplus\nP3,"multi\nline",hardware,1,1\nP4,W,hardware,1\nP5,W,hardware,1,1\n',
    )

    report = load_landing(landing, warehouse)

    assert [(f.rows_read, f.rows_loaded, f.rows_rejected) for f in report.files] == [(5, 3, 2)]
    rejects = query(warehouse, "select line_number, reason from raw._load_rejects order by 1")
    assert [line for line, _ in rejects] == [3, 5]
    assert all(reason.startswith("malformed_line") for _, reason in rejects)
    # Lines are records counted from the header (= 1); the multi-line record is one record.
    lines = query(warehouse, "select product_id, _source_line_number from raw.products order by 1")
    assert lines == [("P1", 2), ("P3", 4), ("P5", 6)]


def test_invalid_utf8_row_is_rejected(landing: Path, warehouse: Path) -> None:
    latin1 = f"{PRODUCTS_HEADER}\nP1,W,hardware,1,1\nP2,Caf\xe9,hardware,1,1\n".encode("latin-1")
    write(landing, "products", "p.csv", latin1)

    load_landing(landing, warehouse)

    rejects = query(warehouse, "select line_number, reason from raw._load_rejects")
    assert len(rejects) == 1 and rejects[0][0] == 3 and "invalid encoding" in rejects[0][1]
    assert query(warehouse, "select product_id from raw.products") == [("P1",)]


def test_loading_the_same_content_twice_adds_nothing(landing: Path, warehouse: Path) -> None:
    content = f"{PRODUCTS_HEADER}\nP1,W,hardware,1,1\n"
    write(landing, "products", "p.csv", content)
    load_landing(landing, warehouse)

    write(landing, "products", "p_copy.csv", content)  # same bytes, another name
    report = load_landing(landing, warehouse)

    assert {f.status for f in report.files} == {"skipped"}
    assert query(warehouse, "select count(*) from raw.products") == [(1,)]
    assert query(warehouse, "select count(*) from raw._load_manifest") == [(1,)]


def test_a_new_file_is_loaded_next_to_earlier_ones(landing: Path, warehouse: Path) -> None:
    write(landing, "products", "day1.csv", f"{PRODUCTS_HEADER}\nP1,W,hardware,1,1\n")
    load_landing(landing, warehouse)
    write(landing, "products", "day2.csv", f"{PRODUCTS_HEADER}\nP2,W,hardware,1,1\n")

    report = load_landing(landing, warehouse)

    assert [(f.path.name, f.status) for f in report.files] == [("day1.csv", "skipped"), ("day2.csv", "loaded")]
    assert query(warehouse, "select product_id, _source_file from raw.products order by 1") == [
        ("P1", "products/day1.csv"),
        ("P2", "products/day2.csv"),
    ]


def test_empty_file_is_an_error_naming_the_file(landing: Path, warehouse: Path) -> None:
    path = write(landing, "products", "p.csv", "")

    with pytest.raises(LoadError, match="the file is empty") as excinfo:
        load_landing(landing, warehouse)
    assert str(path) in str(excinfo.value)


def test_wrong_delimiter_is_an_error_with_a_hint(landing: Path, warehouse: Path) -> None:
    write(landing, "products", "p.csv", PRODUCTS_HEADER.replace(",", ";") + "\nP1;W;hardware;1;1\n")

    with pytest.raises(LoadError, match=r"missing required column 'product_id'.*delimited by ','"):
        load_landing(landing, warehouse)


def test_timestamps_with_offsets_are_converted_to_utc(landing: Path, warehouse: Path) -> None:
    write(
        landing,
        "orders",
        "o.csv",
        "order_id,customer_id,ordered_at,status,sales_channel\n"
        "O1,C1,2024-03-01T10:00:00+02:00,completed,web\n"
        "O2,C1,2024-03-01T10:00:00Z,completed,web\n"
        "O3,C1,2024-03-01 10:00:00,completed,web\n",
    )

    load_landing(landing, warehouse)

    rows = query(warehouse, "select order_id, ordered_at, is_expedited from raw.orders order by 1")
    assert rows == [
        ("O1", datetime(2024, 3, 1, 8, 0), None),
        ("O2", datetime(2024, 3, 1, 10, 0), None),
        ("O3", datetime(2024, 3, 1, 10, 0), None),
    ]


def test_booleans_accept_common_spellings_and_reject_others(landing: Path, warehouse: Path) -> None:
    write(
        landing,
        "support_tickets",
        "t.csv",
        "ticket_id,customer_id,opened_at,closed_at,channel,category,priority,handle_minutes,is_escalated,csat_score\n"
        "T1,C1,2024-01-01 09:00:00,,phone,problem,high,12.5,yes,\n"
        "T2,C1,2024-01-01 09:00:00,,phone,problem,high,12.5,0,4\n"
        "T3,C1,2024-01-01 09:00:00,,phone,problem,high,12.5,perhaps,4\n",
    )

    load_landing(landing, warehouse)

    assert query(warehouse, "select ticket_id, is_escalated, csat_score from raw.support_tickets order by 1") == [
        ("T1", True, None),
        ("T2", False, 4),
    ]
    assert query(warehouse, "select line_number, column_name, reason from raw._load_rejects") == [
        (4, "is_escalated", "invalid_boolean")
    ]


def test_parquet_and_gzipped_csv_files_load(landing: Path, warehouse: Path, tmp_path: Path) -> None:
    parquet = landing / "products" / "p.parquet"
    parquet.parent.mkdir(parents=True)
    duckdb.sql(
        "copy (select 'P1' as product_id, 'hardware' as category, 2.5 as list_price, 1.0 as unit_cost) "
        f"to '{parquet}' (format parquet)"
    )
    write(landing, "products", "q.csv.gz", gzip.compress(f"{PRODUCTS_HEADER}\nP2,W,software,3,1\n".encode()))

    report = load_landing(landing, warehouse)

    assert sorted((f.path.name, f.rows_loaded) for f in report.files) == [("p.parquet", 1), ("q.csv.gz", 1)]
    assert query(warehouse, "select product_id, list_price, _source_line_number from raw.products order by 1") == [
        ("P1", Decimal("2.5000"), 1),
        ("P2", Decimal("3.0000"), 2),
    ]


def test_a_failure_midway_leaves_the_database_as_it_was(
    landing: Path, warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(landing, "products", "p.csv", f"{PRODUCTS_HEADER}\nP1,W,hardware,1,1\n")
    load_landing(landing, warehouse)
    write(
        landing,
        "customers",
        "c.csv",
        "customer_id,customer_name,email,signup_date,industry,company_size_band,country,region,acquisition_channel\n"
        "C1,A,a@x,2024-01-01,retail,1-10,US,emea,referral\n",
    )
    write(landing, "products", "p2.csv", f"{PRODUCTS_HEADER}\nP2,W,hardware,1,1\n")

    real_load_file = load_module._load_file
    calls = []

    def fail_on_second_file(*args, **kwargs):
        calls.append(args[2])
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return real_load_file(*args, **kwargs)

    monkeypatch.setattr(load_module, "_load_file", fail_on_second_file)
    with pytest.raises(RuntimeError, match="disk full"):
        load_landing(landing, warehouse)

    assert len(calls) == 2  # the first file of this load was written, then rolled back
    assert query(warehouse, "select count(*) from raw.customers") == [(0,)]
    assert query(warehouse, "select product_id from raw.products") == [("P1",)]
    assert query(warehouse, "select count(*) from raw._load_manifest") == [(1,)]


def test_every_file_not_loaded_is_listed_as_ignored_with_the_reason(landing: Path, warehouse: Path) -> None:
    write(landing, "invoices", "i.csv", "a\n1\n")
    write(landing, "products", "notes.txt", "hello")
    write(landing, "products", ".hidden.csv", f"{PRODUCTS_HEADER}\nP9,W,hardware,1,1\n")
    write(landing, "products", "archive/old.csv", f"{PRODUCTS_HEADER}\nP8,W,hardware,1,1\n")
    (landing / "products" / "gone.csv").symlink_to(landing / "nowhere.csv")

    report = load_landing(landing, warehouse)

    ignored = {f.path.name: f.note for f in report.files if f.status == "ignored"}
    assert set(ignored) == {"invoices", "notes.txt", ".hidden.csv", "archive", "gone.csv"}
    assert not report.loaded_files
    assert any("invoices" in w and "not an entity folder" in w for w in report.warnings)
    assert any("notes.txt" in w and "unsupported file type" in w for w in report.warnings)
    manifest = query(warehouse, "select file_path, status, note, rows_read from raw._load_manifest order by 1")
    assert [(path, status, rows) for path, status, _, rows in manifest] == [
        ("invoices", "ignored", 0),
        ("products/.hidden.csv", "ignored", 0),
        ("products/archive", "ignored", 0),
        ("products/gone.csv", "ignored", 0),
        ("products/notes.txt", "ignored", 0),
    ]
    assert dict((path, note) for path, _, note, _ in manifest)["products/.hidden.csv"].startswith("hidden file")
    assert query(warehouse, "select count(*) from raw.products") == [(0,)]


def test_missing_landing_folder_is_a_clear_error(tmp_path: Path, warehouse: Path) -> None:
    with pytest.raises(LoadError, match="landing folder does not exist"):
        load_landing(tmp_path / "nowhere", warehouse)


@pytest.mark.parametrize("file_format", ["csv", "parquet"])
def test_a_crafted_column_name_is_only_ever_a_name(
    landing: Path, warehouse: Path, tmp_path: Path, file_format: str
) -> None:
    """Column names from a header or a Parquet schema are quoted as identifiers: SQL in a
    name never runs (here it would write a file), the column is an ignored extra one."""
    written = tmp_path / "injected.csv"
    crafted = f"x\"), (SELECT 1)) TO '{written}'; COPY (SELECT 1) TO '{written}'; --'"
    if file_format == "csv":
        header = PRODUCTS_HEADER + ',"' + crafted.replace('"', '""') + '"'
        write(landing, "products", "p.csv", f"{header}\nP1,W,hardware,1,1,boom\n")
    else:
        path = landing / "products" / "p.parquet"
        path.parent.mkdir(parents=True)
        name = crafted.replace('"', '""')
        duckdb.sql(
            "copy (select 'P1' as product_id, 'hardware' as category, 1.0 as list_price, 1.0 as unit_cost, "
            f"""'boom' as "{name}") to '{path}' (format parquet)"""
        )

    report = load_landing(landing, warehouse)

    assert not written.exists()
    assert [(f.rows_loaded, f.rows_rejected) for f in report.files] == [(1, 0)]
    assert any("extra column(s)" in w for w in report.warnings)
    assert query(warehouse, "select product_id from raw.products") == [("P1",)]


def test_a_killed_load_is_invisible_and_the_next_load_removes_its_files(
    landing: Path, warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(landing, "products", "day1.csv", f"{PRODUCTS_HEADER}\nP1,W,hardware,1,1\n")
    load_landing(landing, warehouse)
    write(landing, "products", "day2.csv", f"{PRODUCTS_HEADER}\nP2,W,hardware,1,1\nP3,W,hardware,x,1\n")

    # Killed just before the commit: its files are in place, no manifest, no clean-up ran.
    def killed(*args, **kwargs):
        raise KeyboardInterrupt("SIGKILL")

    with monkeypatch.context() as patch:
        patch.setattr(load_module, "_commit", killed)
        patch.setattr(raw_zone, "remove_uncommitted", lambda raw_dir: [])
        with pytest.raises(KeyboardInterrupt):
            load_landing(landing, warehouse)
    leftovers = [p for p in (warehouse / "products").glob("*.parquet") if not p.name.startswith("_")]
    assert len(leftovers) == 2 and len(list((warehouse / "_load_rejects").glob("[0-9a-f]*.parquet"))) == 1
    assert query(warehouse, "select product_id from raw.products") == [("P1",)]
    assert query(warehouse, "select count(*) from raw._load_rejects") == [(0,)]

    report = load_landing(landing, warehouse)

    assert [(f.path.name, f.status) for f in report.files] == [("day1.csv", "skipped"), ("day2.csv", "loaded")]
    assert query(warehouse, "select product_id from raw.products order by 1") == [("P1",), ("P2",)]
    assert query(warehouse, "select line_number from raw._load_rejects") == [(3,)]
    files = [p for p in (warehouse / "products").glob("*.parquet") if not p.name.startswith("_")]
    assert len(files) == 2 and {p.name for p in (warehouse / "_staging").iterdir()} <= {"duckdb_tmp"}


def test_a_second_load_while_one_runs_fails_clearly(landing: Path, warehouse: Path) -> None:
    write(landing, "products", "p.csv", f"{PRODUCTS_HEADER}\nP1,W,hardware,1,1\n")

    with raw_zone.locked(warehouse), pytest.raises(LoadError, match="another load is writing the raw zone"):
        load_landing(landing, warehouse)

    load_landing(landing, warehouse)
    assert query(warehouse, "select product_id from raw.products") == [("P1",)]


def test_the_loaders_raw_views_show_what_dbts_raw_views_show(built_warehouse) -> None:
    """raw_zone.connect (summary, Dagster, tests) and macros/raw_zone.sql (dbt) define the same
    views twice, in Python and in Jinja: they must agree on columns and rows of every table."""
    from segmentation.ingest.contract import load_contract
    from segmentation.ingest.raw_zone import table_columns

    tables = sorted(table_columns(load_contract()))
    with raw_zone.connect(built_warehouse.settings.raw_dir) as con:
        python_side = {
            table: (
                [row[0] for row in con.execute(f'DESCRIBE raw."{table}"').fetchall()],
                con.execute(f'SELECT count(*) FROM raw."{table}"').fetchone()[0],
            )
            for table in tables
        }
    dbt_side = {
        table: (
            [row[0] for row in built_warehouse.query(f'DESCRIBE raw."{table}"')],
            built_warehouse.scalar(f'SELECT count(*) FROM raw."{table}"'),
        )
        for table in tables
    }
    assert python_side == dbt_side
    assert python_side["order_lines"][1] > 0


def test_every_table_has_a_schema_file_spark_can_read(landing: Path, warehouse: Path) -> None:
    """Spark skips files named `_*`: macros/raw_zone.sql types its raw tables from the copy under
    `_schemas/<table>/schema.parquet`, which must have the same columns and survive a next load."""
    from segmentation.ingest.contract import load_contract

    write(landing, "products", "p.csv", f"{PRODUCTS_HEADER}\nP1,Widget,hardware,10.50,4.25\n")
    load_landing(landing, warehouse)
    write(landing, "products", "q.csv", f"{PRODUCTS_HEADER}\nP2,Gadget,hardware,1.50,0.25\n")
    load_landing(landing, warehouse)  # removes what is not committed: not the schema files

    def describe(path: Path) -> list[tuple[str, str]]:
        with duckdb.connect() as con:
            return [row[:2] for row in con.execute(f"describe select * from '{path}'").fetchall()]

    tables = raw_zone.table_columns(load_contract())
    for table in tables:
        spark_copy = warehouse / raw_zone.SCHEMAS / table / raw_zone.SPARK_SCHEMA_FILE
        assert not spark_copy.name.startswith(("_", "."))
        assert describe(spark_copy) == describe(warehouse / table / raw_zone.SCHEMA_FILE), table
    assert [name for name, _ in describe(warehouse / raw_zone.SCHEMAS / "products" / "schema.parquet")] == [
        name for name, _ in tables["products"]]
