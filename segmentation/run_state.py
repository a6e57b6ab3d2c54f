"""What a published run was built from, so a rerun with nothing new can skip the work.

A run's inputs are: the committed loads of the raw zone, the dbt project (models, macros,
seeds, snapshots, data tests, dbt_project.yml, profiles.yml), the Python code that computes
or checks marts (the `segmentation` package), the dbt vars and target, and the environment
variables that change results. Their fingerprint is written next to the published file after
every successful publish; `segmentation run` compares it before building and, when nothing
changed and the published file is still there, stops with "nothing changed".
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from segmentation.config import Settings
from segmentation.ingest.raw_zone import committed_load_ids

PROJECT_INPUTS = ("dbt_project.yml", "profiles.yml", "models", "macros", "seeds", "snapshots", "tests/dbt")
PACKAGE_DIR = Path(__file__).resolve().parent
# Environment variables that change what is built (the DuckDB resources do not).
RESULT_ENVIRONMENT = ("SEGMENTATION_DBT_TARGET", "SEGMENTATION_CONTACT_KEY_SALT")
STATE_FILE_SUFFIX = ".inputs.json"


@dataclass(frozen=True)
class RunInputs:
    fingerprint: str
    load_ids: int


def _file_identity(path: Path) -> list[int]:
    """Changes whenever the file is replaced: any other publish (Dagster, `segmentation publish`)
    renames a new file into place, so a state recorded before it no longer matches."""
    stat = path.stat()
    return [stat.st_ino, stat.st_size, stat.st_mtime_ns]


def _hash_tree(digest: hashlib._Hash, root: Path, relative_to: Path) -> None:
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    for path in files:
        if "__pycache__" in path.parts:
            continue
        digest.update(str(path.relative_to(relative_to)).encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())


def run_inputs(settings: Settings, dbt_vars: dict) -> RunInputs:
    """The fingerprint of everything a run's published marts depend on."""
    digest = hashlib.sha256()
    load_ids = sorted(committed_load_ids(settings.raw_dir))
    digest.update(json.dumps(load_ids).encode())
    for name in PROJECT_INPUTS:
        path = settings.project_dir / name
        if path.exists():
            _hash_tree(digest, path, settings.project_dir)
    _hash_tree(digest, PACKAGE_DIR, PACKAGE_DIR.parent)
    digest.update(json.dumps(dbt_vars, sort_keys=True, default=str).encode())
    # Hashed with the rest, never stored: the salt is a secret.
    digest.update(json.dumps({name: os.environ.get(name) for name in RESULT_ENVIRONMENT}).encode())
    return RunInputs(fingerprint=digest.hexdigest(), load_ids=len(load_ids))


def state_path(settings: Settings) -> Path:
    return settings.published_path.with_name(settings.published_path.name + STATE_FILE_SUFFIX)


def unchanged_since_last_publish(settings: Settings, inputs: RunInputs) -> str | None:
    """When the last publish was built from these very inputs: when it was published."""
    path = state_path(settings)
    if not (path.is_file() and settings.published_path.is_file()):
        return None
    try:
        recorded = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if recorded.get("fingerprint") != inputs.fingerprint:
        return None
    if recorded.get("published_file") != _file_identity(settings.published_path):
        return None
    return str(recorded.get("published_at", "an earlier run"))


def record_publish(settings: Settings, inputs: RunInputs) -> None:
    """Remember what the file just published was built from (written atomically). Nothing to
    remember without a published file (Spark publishes a database of views)."""
    if not settings.published_path.is_file():
        return
    path = state_path(settings)
    tmp = path.with_name(path.name + ".tmp")
    recorded = {
        "fingerprint": inputs.fingerprint,
        "load_ids": inputs.load_ids,
        "published_file": _file_identity(settings.published_path),
        "published_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
    }
    tmp.write_text(json.dumps(recorded))
    tmp.replace(path)
