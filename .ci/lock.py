"""Write requirements.lock from a `pip install --dry-run --report` JSON (see `make lock`).

usage: python .ci/lock.py REPORT.json requirements.lock

The lock is a pip constraints file: one `name==version` per package pip would install for
every extra of the project, the project itself left out.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

PROJECT = "customer-service-segmentation"
HEADER = """\
# Every dependency of every extra (dev, semantic, spark, postgres, bench), pinned to the versions
# this project was last tested with. `make setup` installs with `pip install -c requirements.lock`,
# so a fresh machine gets the same versions; `make lock` re-resolves it from pyproject.toml.
"""


def pins_from_report(report: dict) -> list[str]:
    names = {}
    for item in report["install"]:
        metadata = item["metadata"]
        if metadata["name"].lower().replace("_", "-") != PROJECT:
            names[metadata["name"]] = metadata["version"]
    return [f"{name}=={version}" for name, version in sorted(names.items(), key=lambda kv: kv[0].lower())]


def main(report_path: str, lock_path: str) -> None:
    pins = pins_from_report(json.loads(Path(report_path).read_text()))
    Path(lock_path).write_text(HEADER + "".join(pin + "\n" for pin in pins))
    print(f"{lock_path}: {len(pins)} packages pinned")


if __name__ == "__main__":
    main(*sys.argv[1:3])
