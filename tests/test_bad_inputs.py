"""The bad-input corpus (tests/bad_inputs/): every case gets exactly its documented outcome.

Each case folder holds landing files layered on the shared valid set `_base` and a `case.yml`
stating the outcome in data (see tests/bad_inputs/README.md). For every case:

- its files, byte for byte, are loaded by the real loader into a raw zone of their own: a
  `load_error` case must raise `LoadError` with the documented message (file, column) and
  keep nothing; any other case must give exactly the documented `raw._load_rejects` rows,
  manifest counts, warnings and typed values;
- the quarantine is checked on a real `dbt build --select +audit_quarantine
  +audit_row_reconciliation`: exactly the documented `audit.audit_quarantine` rows, the
  rejects again, the row accounting of the case's own files (file rows = loaded + rejected,
  loaded = raw = validated, every validated row clean or quarantined), every entity
  `is_reconciled` in `audit_row_reconciliation`, and a passing build (which includes the
  singular test assert_every_raw_row_is_clean_or_quarantined).

Why one shared dbt build: measured here on 2 cores, `dbt build` of that selection takes
~11 s on the tiny base (~6 s running 10 tables, 9 views and 39 tests, the rest start-up
and parsing; a different warehouse path forces a full re-parse), and more as the project
grows. With 40+ cases, one build per case would take 7+ minutes. Instead a session fixture
puts every case into ONE landing folder, loads it with one `load_landing` call and runs dbt
once. So that cases do not interfere, each case's ids are namespaced (`C1` becomes
`<case>-C1`) and its files renamed `<entity>/<case>__<file>`. A case's rows are then found
by their source file, and its keys are read back without the prefix. The rewrite is a
byte-level regex on the id pattern, not a CSV round trip: the csv module would "repair"
exactly what the corpus is about (unclosed quotes, latin-1 bytes, BOMs, CRLF, surplus
fields). Ids keep their place, so lines do not move, and the untouched bytes are loaded too
(first point above). The keyless base files (cost rates, acquisition spend) are the same
bytes in every case: the loader keeps `_base`'s copy (sorted first) and skips the others as
already-loaded content, its documented rule. A case marked `isolated` (it breaks the build
for everyone) gets its own warehouse and build. That build runs concurrently with the
shared one, each with its own dbt target folder. The whole module takes 70-100 s on 2
cores depending on machine load (~35 s of it the two concurrent dbt builds).
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from segmentation.ingest import raw_zone
from segmentation.ingest.contract import load_contract
from segmentation.ingest.load import LoadError, LoadReport, load_landing

CORPUS = Path(__file__).resolve().parent / "bad_inputs"
PROJECT_DIR = CORPUS.parent.parent
BASE = "_base"
MIN_CASES = 25
OUTCOMES = ("load_error", "rejected", "quarantined", "clean")
CASE_KEYS = {
    "description", "outcome", "message_contains", "rejects", "quarantined", "manifest",
    "warnings_contain", "values", "known_bug", "isolated",
}
DBT_BUILD = [
    "build", "--select", "+audit_quarantine", "+audit_row_reconciliation",
    # Only tests whose parents are all selected: "eager" would also run the tests of other
    # marts that merely reference a selected model, on tables this build does not create.
    "--indirect-selection", "cautious", "--threads", "2",
]
ID_PATTERN = re.compile(rb"(?<![A-Za-z0-9_-])(?:SC|AM|C|P|O|L|T)[0-9]+(?![A-Za-z0-9_])")
CONTRACT = load_contract(PROJECT_DIR)
ENTITIES = CONTRACT.names


# --------------------------------------------------------------------------- the corpus


@dataclass(frozen=True)
class Case:
    name: str

    @property
    def spec(self) -> dict[str, Any]:
        return _spec(self.name)

    @property
    def outcome(self) -> str:
        return self.spec["outcome"]

    @property
    def isolated(self) -> bool:
        return bool(self.spec.get("isolated"))

    def own_files(self) -> dict[str, Path]:
        """This case's landing files: 'entity/file' -> path."""
        landing = CORPUS / self.name / "landing"
        return {
            p.relative_to(landing).as_posix(): p for p in sorted(landing.rglob("*")) if p.is_file() or p.is_symlink()
        }

    def files(self) -> dict[str, Path]:
        """The base with this case's files laid over it (same path replaces, others add)."""
        return {**Case(BASE).own_files(), **self.own_files()}

    # How the case is stored in the shared warehouse: files renamed, ids namespaced.
    def stored(self, rel: str) -> str:
        entity, name = rel.split("/", 1)
        return f"{entity}/{self.name}__{name}"

    def unstored(self, stored: str) -> str:
        entity, name = stored.split("/", 1)
        return f"{entity}/{name.removeprefix(f'{self.name}__')}"

    def namespace(self, data: bytes) -> bytes:
        return ID_PATTERN.sub(lambda m: f"{self.name}-".encode() + m.group(0), data)

    def unnamespace(self, text: str | None) -> str | None:
        return None if text is None else text.replace(f"{self.name}-", "")


@cache
def _spec(name: str) -> dict[str, Any]:
    return yaml.safe_load((CORPUS / name / "case.yml").read_text(encoding="utf-8"))


def all_cases() -> list[Case]:
    """Every case, `_base` included (it must be clean on its own)."""
    return [Case(p.name) for p in sorted(CORPUS.iterdir()) if (p / "case.yml").is_file()]


def case_params() -> list:
    params = []
    for case in all_cases():
        bug = case.spec.get("known_bug")
        marks = [pytest.mark.xfail(strict=True, reason=" ".join(bug.split()))] if bug else []
        params.append(pytest.param(case, id=case.name, marks=marks))
    return params


def materialize(case: Case, landing: Path, *, namespaced: bool) -> None:
    files = case.files()
    for rel, source in files.items():
        target = landing / (case.stored(rel) if namespaced else rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            # A link (broken, or a loop) is a case of its own: recreate it, pointing at the
            # stored name when it points at one of the case's files.
            link = os.readlink(source)
            sibling = f"{rel.rsplit('/', 1)[0]}/{link}"
            if namespaced and sibling in files:
                link = case.stored(sibling).rsplit("/", 1)[1]
            target.symlink_to(link)
            continue
        data = source.read_bytes()
        target.write_bytes(case.namespace(data) if namespaced else data)


# --------------------------------------------------------------------------- warehouses


@contextmanager
def connect(warehouse: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        yield con
    finally:
        con.close()


def start_dbt_build(warehouse: Path, artifacts: Path) -> subprocess.Popen:
    """Start the real `dbt build` on `warehouse`, with its own target/ and logs/.

    A subprocess, not dbtRunner: in-process, dbt-duckdb may keep the file open with its own
    configuration, and DuckDB then refuses the read-only connections the checks open.
    """
    dbt = Path(sys.executable).with_name("dbt")
    command = [
        str(dbt) if dbt.exists() else shutil.which("dbt") or "dbt", *DBT_BUILD,
        "--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR),
    ]
    env = {
        **os.environ,
        "SEGMENTATION_WAREHOUSE_PATH": str(warehouse),
        "SEGMENTATION_RAW_DIR": str(warehouse.parent / "raw"),
        "DBT_TARGET_PATH": str(artifacts / "target"),
        "DBT_LOG_PATH": str(artifacts / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    return subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def finish_dbt_build(process: subprocess.Popen) -> str | None:
    """None when the build passed, else the lines that say what failed."""
    output, _ = process.communicate()
    if process.returncode == 0:
        return None
    lines = output.splitlines()
    failures = [line for line in lines if re.search(r"\b(ERROR|FAIL)\b|Error", line)]
    return f"dbt build failed ({process.returncode}):\n" + "\n".join(failures or lines[-40:])


@dataclass
class Built:
    """A warehouse loaded with one or more cases and built by dbt."""

    path: Path
    namespaced: bool
    report: LoadReport | None = None
    load_error: str | None = None
    dbt_error: str | None = None


@pytest.fixture(scope="session")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Built]:
    """The built warehouse of every case that is not a load error (many share one)."""
    root = tmp_path_factory.mktemp("bad_inputs")
    cases = [c for c in all_cases() if c.outcome != "load_error"]
    shared = Built(path=root / "_shared" / "warehouse.duckdb", namespaced=True)
    by_case = {c.name: shared for c in cases if not c.isolated}
    for case in cases:
        landing = root / (case.name if case.isolated else "_shared") / "landing"
        materialize(case, landing, namespaced=not case.isolated)
        if case.isolated:
            by_case[case.name] = Built(path=root / case.name / "warehouse.duckdb", namespaced=False)
    warehouses = {"_shared": shared} | {c.name: by_case[c.name] for c in cases if c.isolated}
    started = []
    for name, built in warehouses.items():
        landing = built.path.parent / "landing"
        try:
            built.report = load_landing(landing, built.path.parent / "raw")
        except Exception as exc:  # reported by each case that depends on this warehouse
            built.load_error = f"{type(exc).__name__}: {exc}"
            continue
        started.append((built, start_dbt_build(built.path, root / f"dbt_{name}")))
    for built, process in started:
        built.dbt_error = finish_dbt_build(process)
    return by_case


# --------------------------------------------------------------------------- checks


class CaseView:
    """One case's rows in a warehouse, with files and keys as the case wrote them."""

    def __init__(self, case: Case, con: duckdb.DuckDBPyConnection, report: LoadReport, *,
                 namespaced: bool):
        self.case, self.con, self.namespaced = case, con, namespaced
        self.stored_files = [case.stored(r) if namespaced else r for r in case.files()]
        self.results = {(f.entity, f.path.name): f for f in report.files}
        # A file inside a sub-folder of an entity folder is reported as that sub-folder.
        entries = {*self.stored_files, *("/".join(s.split("/")[:2]) for s in self.stored_files)}
        self.warnings = [w for w in report.warnings if any(s in w for s in entries)]

    def file(self, stored: str) -> str:
        return self.case.unstored(stored) if self.namespaced else stored

    def text(self, value: str | None) -> str | None:
        return self.case.unnamespace(value) if self.namespaced else value

    def key(self, key: str) -> str:
        return self.case.namespace(key.encode()).decode() if self.namespaced else key

    def rows(self, sql: str, params: list | None = None) -> list[tuple]:
        """Run `sql`, where {files} stands for the case's stored file paths."""
        marks = ", ".join("?" for _ in self.stored_files)
        return self.con.execute(
            sql.format(files=f"({marks})"), [*self.stored_files, *(params or [])]
        ).fetchall()

    def rejects(self) -> list[dict[str, Any]]:
        rows = self.rows(
            "select entity, file_path, line_number, column_name, reason, raw_value, raw_text "
            "from raw._load_rejects where file_path in {files}"
        )
        return [
            {
                "entity": entity, "file": self.file(path), "line": line, "column": column,
                "reason": reason, "raw_value": self.text(raw_value), "raw_text": self.text(raw_text),
            }
            for entity, path, line, column, reason, raw_value, raw_text in rows
        ]

    def quarantined(self) -> list[tuple]:
        rows = self.rows(
            "select entity, record_key, source_file, source_line_number, quarantine_reason "
            "from audit.audit_quarantine where source_file in {files}"
        )
        return sorted(
            (entity, self.text(key), self.file(path), line, tuple(reason.split("; ")))
            for entity, key, path, line, reason in rows
        )


def check_rejects(view: CaseView, expected: list[dict[str, Any]]) -> None:
    def position(row: dict[str, Any]) -> tuple:
        return (row["entity"], row["file"], row["line"], row["column"] or "")

    actual = sorted(view.rejects(), key=position)
    expected = sorted(expected, key=position)
    assert [position(r) for r in actual] == [position(r) for r in expected], (
        f"reject rows differ; actual: {actual}"
    )
    for got, want in zip(actual, expected, strict=True):
        assert got["reason"].startswith(want["reason"]), (got, want)
        if "raw_value" in want:
            assert got["raw_value"] == want["raw_value"], (got, want)
        for fragment in want.get("raw_text_contains", []):
            assert fragment in (got["raw_text"] or ""), (got, want)


def check_quarantine(view: CaseView, expected: list[dict[str, Any]]) -> None:
    assert view.quarantined() == sorted(
        (q["entity"], q["key"], q["file"], q["line"], tuple(q["reasons"])) for q in expected
    )


def check_manifest(view: CaseView, expected: dict[str, Any]) -> None:
    for rel, counts in expected.items():
        stored = view.case.stored(rel) if view.namespaced else rel
        rows = view.con.execute(
            "select rows_read, rows_loaded, rows_rejected from raw._load_manifest "
            "where file_path = ?",
            [stored],
        ).fetchall()
        result = view.results[tuple(stored.split("/", 1))]
        if counts == "skipped":
            assert (rows, result.status) == ([], "skipped"), rel
        else:
            assert (rows, result.status) == ([tuple(counts)], "loaded"), rel


def check_warnings(view: CaseView, expected: list[str]) -> None:
    for fragment in expected:
        assert any(fragment in w for w in view.warnings), (fragment, view.warnings)


def check_values(view: CaseView, expected: list[dict[str, Any]]) -> None:
    for item in expected:
        (key_column,) = CONTRACT.entity(item["entity"]).key
        rows = view.rows(
            f'select "{item["column"]}" from raw.{item["entity"]} '
            f'where _source_file in {{files}} and "{key_column}" = ?',
            [view.key(item["key"])],
        )
        assert len(rows) == 1, (item, rows)
        value = rows[0][0]
        assert (None if value is None else str(value)) == item["value"], (item, value)


def check_reconciliation(view: CaseView) -> None:
    """audit_row_reconciliation's accounting, restricted to the case's own files."""
    for entity in ENTITIES:
        ((read, loaded, rejected),) = view.rows(
            "select coalesce(sum(rows_read), 0), coalesce(sum(rows_loaded), 0), "
            "coalesce(sum(rows_rejected), 0) from raw._load_manifest "
            "where file_path in {files} and entity = ?",
            [entity],
        )
        ((rejected_records,),) = view.rows(
            "select count(distinct (file_path, line_number)) from raw._load_rejects "
            "where file_path in {files} and entity = ?",
            [entity],
        )
        ((raw,),) = view.rows(f"select count(*) from raw.{entity} where _source_file in {{files}}")
        ((validated, undecided, quarantined),) = view.rows(
            "select count(*), count(*) filter (is_quarantined is null), "
            f"count(*) filter (is_quarantined) from intermediate.int_{entity}_validated "
            "where _source_file in {files}"
        )
        ((audited,),) = view.rows(
            "select count(*) from audit.audit_quarantine "
            "where source_file in {files} and entity = ?",
            [entity],
        )
        counts = {
            "read": read, "loaded": loaded, "rejected": rejected,
            "rejected_records": rejected_records, "raw": raw, "validated": validated,
            "undecided": undecided, "quarantined": quarantined, "audited": audited,
        }
        assert read == loaded + rejected, (entity, counts)
        assert rejected == rejected_records, (entity, counts)
        assert loaded == raw == validated, (entity, counts)
        assert undecided == 0 and quarantined == audited, (entity, counts)


def assert_nothing_kept(raw_dir: Path) -> None:
    if not raw_dir.exists():
        return
    tables = [*ENTITIES, "_load_manifest", "_load_rejects"]
    with raw_zone.connect(raw_dir) as con:
        counts = {t: con.execute(f"select count(*) from raw.{t}").fetchone()[0] for t in tables}
    assert counts == dict.fromkeys(tables, 0)


# --------------------------------------------------------------------------- the tests


def test_corpus_is_complete_and_well_formed() -> None:
    cases = all_cases()
    assert Case(BASE) in cases
    assert len(cases) - 1 >= MIN_CASES
    for case in cases:
        spec, own = case.spec, case.own_files()
        assert set(spec) <= CASE_KEYS, (case.name, set(spec) - CASE_KEYS)
        assert spec.get("description"), case.name
        assert spec.get("outcome") in OUTCOMES, case.name
        assert own, f"{case.name} has no landing files"
        assert {rel.split("/")[0] for rel in own} <= set(ENTITIES), case.name
        if case.outcome == "load_error":
            assert not {"rejects", "quarantined", "manifest", "values", "isolated"} & set(spec)
            assert any(rel in s for s in spec.get("message_contains", []) for rel in own), (
                f"{case.name}: message_contains must name the file"
            )
            continue
        # A case may both reject and quarantine; its outcome names what it is about.
        if case.outcome == "rejected":
            assert spec.get("rejects"), case.name
        if case.outcome == "quarantined":
            assert spec.get("quarantined"), case.name
        if case.outcome == "clean":
            assert not spec.get("rejects") and not spec.get("quarantined"), case.name
        assert set(spec.get("manifest", {})) <= set(case.files()), case.name


def test_keyless_rows_are_not_shared_between_cases() -> None:
    """Cost rates and acquisition spend have no id to namespace: their keys must be unique to
    one case, or cases would quarantine each other's rows in the shared warehouse."""
    owners: dict[tuple, str] = {}
    for case in all_cases():
        for rel, path in case.own_files().items():
            entity = rel.split("/")[0]
            if entity not in ("cost_rates", "acquisition_spend"):
                continue
            key_columns = CONTRACT.entity(entity).key
            for row in csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))):
                key = (entity, *(row.get(k) or "" for k in key_columns))
                assert owners.setdefault(key, case.name) == case.name, (key, owners[key], case.name)


@pytest.mark.parametrize("case", case_params())
def test_bad_input(case: Case, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    spec = case.spec
    landing, raw_dir = tmp_path / "landing", tmp_path / "raw"
    materialize(case, landing, namespaced=False)

    if case.outcome == "load_error":
        with pytest.raises(LoadError) as excinfo:
            load_landing(landing, raw_dir)
        for fragment in spec["message_contains"]:
            assert fragment in str(excinfo.value)
        assert_nothing_kept(raw_dir)
        return

    # The case's own bytes, loader only.
    report = load_landing(landing, raw_dir)
    with raw_zone.connect(raw_dir) as con:
        alone = CaseView(case, con, report, namespaced=False)
        check_rejects(alone, spec.get("rejects", []))
        check_manifest(alone, spec.get("manifest", {}))
        check_warnings(alone, spec.get("warnings_contain", []))
        check_values(alone, spec.get("values", []))

    # The quarantine and the accounting, from a real dbt build.
    built: Built = request.getfixturevalue("builds")[case.name]
    assert built.load_error is None, built.load_error
    assert built.dbt_error is None, built.dbt_error
    assert built.report is not None
    with connect(built.path) as con:
        view = CaseView(case, con, built.report, namespaced=built.namespaced)
        check_rejects(view, spec.get("rejects", []))
        check_quarantine(view, spec.get("quarantined", []))
        check_manifest(view, spec.get("manifest", {}))
        check_warnings(view, spec.get("warnings_contain", []))
        check_values(view, spec.get("values", []))
        check_reconciliation(view)
        reconciliation = con.execute(
            "select entity, is_reconciled from audit.audit_row_reconciliation order by 1"
        ).fetchall()
    assert reconciliation == [(entity, True) for entity in sorted(ENTITIES)]


@pytest.mark.parametrize("case", [c for c in all_cases() if c.outcome == "load_error"], ids=lambda c: c.name)
def test_a_load_error_is_one_cli_line_without_a_traceback(
    case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """What a user sees: `segmentation load` exits 1 with one `error:` line naming the file."""
    from segmentation import cli

    materialize(case, tmp_path / "landing", namespaced=False)
    monkeypatch.setenv("SEGMENTATION_DATA_DIR", str(tmp_path))
    for name in ("SEGMENTATION_LANDING_DIR", "SEGMENTATION_RAW_DIR", "SEGMENTATION_WAREHOUSE_PATH"):
        monkeypatch.delenv(name, raising=False)

    assert cli.main(["load"]) == 1

    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    for fragment in case.spec["message_contains"]:
        assert fragment in err
    assert_nothing_kept(tmp_path / "raw")
