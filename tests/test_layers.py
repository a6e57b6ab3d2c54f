"""Layers only point down: staging < intermediate < marts. A model never refs a higher layer."""

from __future__ import annotations

import re
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
LAYERS = ("staging", "intermediate", "marts")
_REF = re.compile(r"""\bref\(\s*['"]([A-Za-z0-9_]+)['"]\s*\)""")


def model_layers(models_dir: Path = PROJECT_DIR / "models") -> dict[str, str]:
    """Every model (SQL or Python) by name -> its layer (the first folder under models/)."""
    return {
        path.stem: path.relative_to(models_dir).parts[0]
        for path in models_dir.rglob("*")
        if path.suffix in {".sql", ".py"}
    }


def upward_refs(models_dir: Path = PROJECT_DIR / "models") -> list[str]:
    """'model (layer) -> referenced model (higher layer)' for every ref that points up."""
    layers = model_layers(models_dir)
    found = []
    for path in sorted(models_dir.rglob("*")):
        if path.suffix not in {".sql", ".py"}:
            continue
        layer = layers[path.stem]
        for name in _REF.findall(path.read_text(encoding="utf-8")):
            target = layers.get(name)  # seeds and snapshots are no layer: reading them is fine
            if target in LAYERS and LAYERS.index(target) > LAYERS.index(layer):
                found.append(f"{path.stem} ({layer}) -> {name} ({target})")
    return found




def test_no_model_refs_a_higher_layer() -> None:
    assert upward_refs() == []


def test_the_check_finds_an_intermediate_model_reading_a_mart(tmp_path) -> None:
    (tmp_path / "marts").mkdir()
    (tmp_path / "intermediate").mkdir()
    (tmp_path / "marts" / "customer_clv.sql").write_text("select 1")
    (tmp_path / "intermediate" / "int_x.sql").write_text("select * from {{ ref( 'customer_clv' ) }}")

    assert upward_refs(tmp_path) == ["int_x (intermediate) -> customer_clv (marts)"]
