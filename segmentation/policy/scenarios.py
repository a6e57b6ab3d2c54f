"""Proposed service policies from CSV files, checked row by row before dbt sees them.

A proposed policy has the columns of seeds/service_policy.csv (a whole policy, one row per
segment), optionally with a `scenario` column holding several named scenarios in one file.
Every problem is one line naming the file, the row (the header is line 1) and the column, so
the user can fix the file; nothing is dropped silently. The rows become the dbt var
`policy_scenarios` (macros/policy.sql renders each value through sql_literal), which
segmentation/dbt_vars.py checks with `check_scenario_rows` at every entry point.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from segmentation.config import PROJECT_DIR

POLICY_COLUMNS = (
    "segment_family", "segment", "service_level", "entitlement_rank", "sla_first_response_hours",
    "allowed_channels", "dedicated_account_manager", "concierge", "loyalty_benefits",
    "cost_to_serve_budget_per_year", "routing_queue", "routing_precedence", "routing_min_predicted_clv",
    "policy_note",
)
SCENARIO_COLUMN = "scenario"
CURRENT_POLICY = "current policy"
SEGMENT_FAMILIES = ("value_tier", "lifecycle_stage", "churn_risk", "support_channel", "support_intensity",
                    "product_adoption", "firmographic_group", "service_plan")
ROUTING_QUEUES = ("senior_agents", "retention", "onboarding", "standard", "self_service")
CHANNELS = ("phone", "chat", "email", "self_service", "community", "virtual_agent")
_INTEGER_COLUMNS = ("entitlement_rank", "routing_precedence")
_NUMBER_COLUMNS = ("sla_first_response_hours", "cost_to_serve_budget_per_year", "routing_min_predicted_clv")
_BOOLEAN_COLUMNS = ("dedicated_account_manager", "concierge")
_MAX_NAME = 100
_MAX_TEXT = 500


class PolicyFileError(ValueError):
    """A proposed policy is malformed; the message names the file, row and column, and what to do."""


def service_levels(project_dir: Path = PROJECT_DIR) -> tuple[str, ...]:
    """The service levels of seeds/service_levels.csv (the order the what-if counts steps in)."""
    with (project_dir / "seeds" / "service_levels.csv").open(newline="", encoding="utf-8") as handle:
        return tuple(row["service_level"] for row in csv.DictReader(handle))


def seeded_scenario_names(project_dir: Path = PROJECT_DIR) -> set[str]:
    """Names of the scenarios shipped in seeds/service_policy_scenarios.csv."""
    with (project_dir / "seeds" / "service_policy_scenarios.csv").open(newline="", encoding="utf-8") as handle:
        return {row[SCENARIO_COLUMN] for row in csv.DictReader(handle)}


def read_policy_file(path: Path, name: str | None = None, project_dir: Path = PROJECT_DIR) -> list[dict[str, str]]:
    """The rows of a proposed policy file, each with its scenario name, checked.

    Without a `scenario` column the file is one scenario, named `name` (default: the file's
    stem); with one, `name` must not be given and each row names its scenario.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise PolicyFileError(f"{path}: no such file; give the proposed policy as a CSV in the shape of "
                              "seeds/service_policy.csv") from exc
    except UnicodeDecodeError as exc:
        raise PolicyFileError(f"{path}: not UTF-8 text (byte {exc.start}); save the CSV as UTF-8") from exc
    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    if not header or not any(cell.strip() for cell in header):
        raise PolicyFileError(f"{path}: empty file; copy seeds/service_policy.csv and edit it")
    header = [cell.strip().lower() for cell in header]
    _check_header(path, header, name)
    rows: list[dict[str, str]] = []
    for line_number, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            raise PolicyFileError(f"{path}, row {line_number}: {len(cells)} fields, the header has {len(header)}; "
                                  "quote values that contain commas")
        row = {column: cell.strip() for column, cell in zip(header, cells, strict=True)}
        if SCENARIO_COLUMN not in row:
            row[SCENARIO_COLUMN] = name if name is not None else path.stem
        rows.append(row)
    if not rows:
        raise PolicyFileError(f"{path}: no policy rows after the header; a policy needs at least one row")
    check_scenario_rows(rows, source=str(path), first_row=2, project_dir=project_dir)
    return [{column: row[column] for column in (SCENARIO_COLUMN, *POLICY_COLUMNS)} for row in rows]


def _check_header(path: Path, header: list[str], name: str | None) -> None:
    seen: set[str] = set()
    for position, column in enumerate(header, start=1):
        if column in seen:
            raise PolicyFileError(f"{path}, row 1, column {position} ({column}): the column appears twice")
        seen.add(column)
        if column not in POLICY_COLUMNS and column != SCENARIO_COLUMN:
            raise PolicyFileError(f"{path}, row 1, column {position} ({column or 'unnamed'}): not a column of "
                                  f"seeds/service_policy.csv; the columns are {', '.join(POLICY_COLUMNS)}")
    missing = [column for column in POLICY_COLUMNS if column not in seen]
    if missing:
        raise PolicyFileError(f"{path}, row 1: missing column(s) {', '.join(missing)}; "
                              "a proposed policy has every column of seeds/service_policy.csv")
    if SCENARIO_COLUMN in seen and name is not None:
        raise PolicyFileError(f"{path}, row 1: the file has a scenario column, so --name cannot name it; "
                              "drop --name or the column")


def check_scenario_rows(
    rows: Iterable[Mapping[str, Any]],
    *,
    source: str = "dbt var policy_scenarios",
    first_row: int = 1,
    project_dir: Path = PROJECT_DIR,
) -> None:
    """Check proposed policy rows (file rows or the var's); raises PolicyFileError at the first problem."""
    levels = service_levels(project_dir)
    reserved = seeded_scenario_names(project_dir) | {CURRENT_POLICY}
    keys: dict[tuple[str, str, str], int] = {}
    for row_number, row in enumerate(rows, start=first_row):
        if not isinstance(row, Mapping):
            raise PolicyFileError(f"{source}, row {row_number}: must be a mapping of column names to values")
        fail = _failure(source, row_number, row)
        unknown = [str(column) for column in row if column not in (SCENARIO_COLUMN, *POLICY_COLUMNS)]
        if unknown:
            raise PolicyFileError(f"{source}, row {row_number}, column {unknown[0][:60]}: not a column of "
                                  "seeds/service_policy_scenarios.csv")
        value = {column: _text(row.get(column)) for column in (SCENARIO_COLUMN, *POLICY_COLUMNS)}
        scenario = value[SCENARIO_COLUMN]
        if not scenario:
            raise fail(SCENARIO_COLUMN, "a scenario needs a name (--name, or the scenario column)")
        if len(scenario) > _MAX_NAME or not scenario.isprintable():
            raise fail(SCENARIO_COLUMN, f"a scenario name is printable text of at most {_MAX_NAME} characters")
        if scenario in reserved:
            raise fail(SCENARIO_COLUMN, "the name is taken by the current policy or a scenario of "
                                        "seeds/service_policy_scenarios.csv; choose another (--name)")
        if value["segment_family"] not in SEGMENT_FAMILIES:
            raise fail("segment_family", f"must be one of {', '.join(SEGMENT_FAMILIES)}")
        if not value["segment"]:
            raise fail("segment", "required: the segment the row applies to")
        key = (scenario, value["segment_family"], value["segment"])
        if key in keys:
            raise fail("segment", f"the scenario has a row for this segment already (row {keys[key]}); "
                                  "a policy has one row per segment")
        keys[key] = row_number
        if value["service_level"] and value["service_level"] not in levels:
            raise fail("service_level", f"must be empty or one of {', '.join(levels)} (seeds/service_levels.csv)")
        for column in _INTEGER_COLUMNS:
            if value[column] and not _is_integer(value[column]):
                raise fail(column, "must be a whole number")
        for column in _NUMBER_COLUMNS:
            if value[column] and not _is_number(value[column]):
                raise fail(column, "must be a number (use . for decimals)")
            if value[column] and float(value[column]) < 0:
                raise fail(column, "must not be negative")
        for column in _BOOLEAN_COLUMNS:
            if value[column] and value[column].lower() not in ("true", "false"):
                raise fail(column, "must be true, false or empty")
        if value["service_level"] and not value["entitlement_rank"]:
            raise fail("entitlement_rank", "required when the row sets a service level")
        channels = [channel for channel in value["allowed_channels"].split(";") if channel]
        for channel in channels:
            if channel not in CHANNELS:
                raise fail("allowed_channels", f"unknown channel {channel!r}; channels are {', '.join(CHANNELS)}, "
                                               "separated by ';'")
        if value["routing_queue"] and value["routing_queue"] not in ROUTING_QUEUES:
            raise fail("routing_queue", f"must be empty or one of {', '.join(ROUTING_QUEUES)}")
        if value["routing_queue"] and not value["routing_precedence"]:
            raise fail("routing_precedence", "required when the row routes (routing_queue)")
        for column in ("loyalty_benefits", "policy_note"):
            if len(value[column]) > _MAX_TEXT:
                raise fail(column, f"at most {_MAX_TEXT} characters")


def _failure(source: str, row_number: int, row: Mapping[str, Any]):
    """A maker of the one-line error for a column of this row."""
    def fail(column: str, problem: str) -> PolicyFileError:
        value = _text(row.get(column))[:60]
        return PolicyFileError(f"{source}, row {row_number}, column {column} ({value!r}): {problem}")

    return fail


def scenario_names(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """The scenarios of `rows`, in order of first appearance."""
    return list(dict.fromkeys(_text(row.get(SCENARIO_COLUMN)) for row in rows))


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip()


def _is_integer(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False
