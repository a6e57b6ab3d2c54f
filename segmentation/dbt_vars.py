"""dbt vars from users (CLI `--vars`, Dagster run config), checked before dbt sees them.

dbt renders vars into SQL. A value of the wrong shape is at best a confusing failure deep in
a model and at worst SQL that runs (`review_date: "2024-01-01'); drop table ..."`). So every
var that enters through this project's entry points is checked here against the shape of
its default in dbt_project.yml: a date is an ISO date, a number a number, a currency a
three-letter code, a name an identifier; an unknown var name is an error (a typo would
otherwise be ignored silently by dbt).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from segmentation.config import PROJECT_DIR

# Vars whose default is null or a string: their shape, by name.
_DATE_VARS = {"review_date"}
_CHOICES = {"review_type": ("rolling", "annual")}
_PATTERNS = {
    "reporting_currency": (re.compile(r"[A-Z]{3}"), "a three-letter ISO 4217 currency code such as USD"),
    "segment_default_routing_queue": (
        re.compile(r"[a-z][a-z0-9_]{0,62}"), "a queue name (lowercase letters, digits, _)"
    ),
}
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class VarsError(ValueError):
    """A dbt var given by the user has the wrong name or shape; the message says which and why."""


@cache
def project_defaults(project_dir: Path = PROJECT_DIR) -> dict[str, Any]:
    """The vars block of dbt_project.yml: every var the project knows, with its default."""
    document = yaml.safe_load((project_dir / "dbt_project.yml").read_text(encoding="utf-8"))
    return dict(document.get("vars") or {})


def parse_vars(text: str | None) -> dict[str, Any]:
    """`--vars` text (YAML or JSON, as dbt takes it) as a dict; '' or None is no vars."""
    if not text or not text.strip():
        return {}
    try:
        value = yaml.safe_load(text)
    except (yaml.YAMLError, ValueError) as exc:  # ValueError: YAML's own date parsing, e.g. 2024-02-30
        raise VarsError(
            f"--vars is not valid YAML/JSON ({exc}); e.g. --vars '{{review_date: 2025-06-30}}'"
        ) from exc
    if not isinstance(value, Mapping):
        raise VarsError("--vars must be a mapping of var names to values, e.g. --vars '{review_date: 2025-06-30}'")
    return dict(value)


def validate_vars(given: Mapping[str, Any], defaults: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Check each var against its default's shape; returns the vars with dates as ISO strings."""
    defaults = project_defaults() if defaults is None else defaults
    checked: dict[str, Any] = {}
    for name, value in given.items():
        if name not in defaults:
            close = ", ".join(sorted(n for n in defaults if n.split("_")[0] == str(name).split("_")[0])[:5])
            raise VarsError(f"unknown dbt var {name!r}" + (f" (did you mean one of: {close}?)" if close else "")
                            + "; the vars are listed in dbt_project.yml")
        checked[name] = _check(name, value, defaults[name])
    return checked


def dbt_vars_argument(given: Mapping[str, Any]) -> list[str]:
    """['--vars', '<json>'] for dbt, or [] when there are none."""
    return ["--vars", json.dumps(dict(given), sort_keys=True)] if given else []


def _check(name: str, value: Any, default: Any) -> Any:
    if name == "policy_scenarios":  # rows of proposed service policies (segmentation/policy/scenarios.py)
        return _policy_rows(value)
    if name in _DATE_VARS:
        if value is None:
            return None
        if isinstance(value, dt.date):
            return value.isoformat()
        if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            try:
                return dt.date.fromisoformat(value).isoformat()
            except ValueError:
                pass
        raise VarsError(f"dbt var {name} must be a date YYYY-MM-DD (or null), got {value!r}")
    if name in _CHOICES:
        if value not in _CHOICES[name]:
            raise VarsError(f"dbt var {name} must be one of {', '.join(_CHOICES[name])}, got {value!r}")
        return value
    if name in _PATTERNS:
        pattern, what = _PATTERNS[name]
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise VarsError(f"dbt var {name} must be {what}, got {value!r}")
        return value
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise VarsError(f"dbt var {name} must be true or false, got {value!r}")
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise VarsError(f"dbt var {name} must be a whole number, got {value!r}")
        return value
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise VarsError(f"dbt var {name} must be a number, got {value!r}")
        return float(value)
    if isinstance(default, list):
        if not isinstance(value, list):
            raise VarsError(f"dbt var {name} must be a list like {default!r}, got {value!r}")
        element = default[0] if default else ""
        return [_check(f"{name}[]", item, element) if not isinstance(element, str) else _identifier(name, item)
                for item in value]
    if isinstance(default, str) or default is None:
        return _identifier(name, value)
    raise VarsError(f"dbt var {name} cannot be set from here")


def _policy_rows(value: Any) -> list[dict[str, Any]]:
    from segmentation.policy.scenarios import PolicyFileError, check_scenario_rows

    if not isinstance(value, list):
        raise VarsError(f"dbt var policy_scenarios must be a list of policy rows, got {str(value)[:80]!r}")
    try:
        check_scenario_rows(value)
    except PolicyFileError as exc:
        raise VarsError(str(exc)) from exc
    return [dict(row) for row in value]


def _identifier(name: str, value: Any) -> str:
    if not isinstance(value, str) or not _IDENTIFIER.fullmatch(value):
        raise VarsError(f"dbt var {name} must be a lowercase name (letters, digits, _), got {value!r}")
    return value
