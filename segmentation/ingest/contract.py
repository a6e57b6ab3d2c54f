"""The raw data contract, read from the dbt source definition.

`models/staging/landing/_landing__sources.yml` is the single source of truth: dbt docs show
it, the loader types and checks landing files with it, and `docs/data_contract.md` is
rendered from it by `segmentation contract`. Changing a column means editing that file only.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from segmentation.config import PROJECT_DIR

SOURCES_FILE = Path("models/staging/landing/_landing__sources.yml")
SEEDS_DIR = Path("seeds")
TYPES = ("varchar", "integer", "decimal", "date", "timestamp", "boolean")

# SQL types the loader gives each contract type in the raw schema.
SQL_TYPES = {
    "varchar": "VARCHAR",
    "integer": "BIGINT",
    "decimal": "DECIMAL(18, 4)",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "boolean": "BOOLEAN",
}


class ContractError(ValueError):
    """The contract file itself is malformed."""


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    description: str
    required: bool = True
    nullable: bool = False
    key: bool = False
    pii: bool = False
    allowed: tuple[str, ...] = ()
    # The seed (seeds/<name>.csv, first column) that lists the allowed values, for values a
    # business names its own way (channels, categories): the user edits the seed, not code.
    allowed_seed: str = ""

    @property
    def sql_type(self) -> str:
        return SQL_TYPES[self.type]

    @property
    def quarantine_reason_not_in_seed(self) -> str:
        """The quarantine reason of a value the seed does not list: it names the file to edit."""
        return f"{self.name}_not_in_seeds/{self.allowed_seed}.csv"


@dataclass(frozen=True)
class Entity:
    name: str
    description: str
    columns: tuple[Column, ...]

    @property
    def key(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.key)

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.name} has no column {name!r}")


@dataclass(frozen=True)
class Contract:
    description: str
    entities: tuple[Entity, ...]

    def entity(self, name: str) -> Entity:
        for entity in self.entities:
            if entity.name == name:
                return entity
        raise KeyError(f"the contract has no entity {name!r}")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(e.name for e in self.entities)


@cache
def load_contract(project_dir: Path = PROJECT_DIR) -> Contract:
    """Parse the landing source YAML into a Contract."""
    path = project_dir / SOURCES_FILE
    # libyaml's safe loader when PyYAML has it (10x faster; the Dagster definitions read this
    # file at import), the pure-Python one otherwise: both build the same document.
    document = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    try:
        (source,) = [s for s in document["sources"] if s["name"] == "landing"]
    except (KeyError, ValueError) as exc:
        raise ContractError(f"{path}: expected exactly one source named 'landing'") from exc
    entities = tuple(_entity(path, table) for table in source["tables"])
    return Contract(description=" ".join(source.get("description", "").split()), entities=entities)


def _entity(path: Path, table: dict) -> Entity:
    columns = []
    for col in table.get("columns", []):
        spec = ((col.get("config") or {}).get("meta") or {}).get("contract")
        if not spec:
            raise ContractError(f"{path}: {table['name']}.{col['name']} has no contract meta")
        col_type = spec.get("type")
        if col_type not in TYPES:
            raise ContractError(
                f"{path}: {table['name']}.{col['name']} has type {col_type!r}; use one of {TYPES}"
            )
        if spec.get("allowed") and spec.get("allowed_seed"):
            raise ContractError(
                f"{path}: {table['name']}.{col['name']} has both allowed and allowed_seed; keep one"
            )
        columns.append(
            Column(
                name=col["name"],
                type=col_type,
                description=" ".join(str(col.get("description", "")).split()),
                required=bool(spec.get("required", True)),
                nullable=bool(spec.get("nullable", False)),
                key=bool(spec.get("key", False)),
                pii=bool(spec.get("pii", False)),
                allowed=tuple(str(v) for v in spec.get("allowed", ())),
                allowed_seed=str(spec.get("allowed_seed", "")),
            )
        )
    return Entity(
        name=table["name"],
        description=" ".join(str(table.get("description", "")).split()),
        columns=tuple(columns),
    )


def seed_values(seed: str, project_dir: Path = PROJECT_DIR) -> tuple[str, ...]:
    """The values a seed allows (its first column), as dbt loads them."""
    path = project_dir / SEEDS_DIR / f"{seed}.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        return tuple(row[0] for row in list(csv.reader(handle))[1:] if row)


def allowed_values(column: Column, project_dir: Path = PROJECT_DIR) -> tuple[str, ...]:
    """The values a column allows: the contract's list, or its seed's values; () = any."""
    if column.allowed_seed:
        return seed_values(column.allowed_seed, project_dir)
    return column.allowed


B2C_MODE = """## Consumer (B2C) data

Nothing in the contract assumes a business customer. A consumer business leaves out what it
does not have:

- `customers`: only `customer_id` and `signup_date` are required. The firmographic columns
  (`industry`, `company_size_band`, `country`, `region`), `acquisition_channel`,
  `customer_name` and `email` may be absent from the file or empty.
- `orders`: `sales_channel` may be absent or empty.
- `products`: `list_price` may be absent or empty (nothing downstream needs it; discounts
  are the order lines' `discount_amount`).
- `support_tickets`, `acquisition_spend`, `service_contracts`: an entity without files reads
  as empty (no support cost or support segments beyond `no_tickets`, no acquisition cost
  allocated, no contract revenue). `cost_rates` are still needed for the activities you have:
  a returned order without a `return` rate fails the build's cost test.
- Channels and categories are your own: list them in `seeds/sales_channels.csv`,
  `seeds/acquisition_channels.csv` and `seeds/product_categories.csv` (lowercase).

What changes downstream: when no customer has an industry or a company size band, the
`firmographic_group` segment family is omitted (no membership rows, `firmographic_group`
null in `dim_customer_segments`) instead of putting everyone in `unknown`. The value-score
prior (var `segment_value_prior_attributes`: service plan, size group, acquisition channel)
then compares customers only on the attributes they have: an empty one is the same
`(none)`/`unknown` for everyone, so the prior falls back to the service plan, or to all
reference customers. Every other segment, the value tiers, CLV, the service assignment and
the entitlement gaps come out as for business customers. `tests/test_consumer_data.py` runs
the whole job on such a data set."""


def render_markdown(contract: Contract) -> str:
    """The human-readable contract (docs/data_contract.md)."""
    lines = [
        "# Raw data contract",
        "",
        "<!-- Generated by `segmentation contract --write docs/data_contract.md` from",
        f"     {SOURCES_FILE}. Edit that file, not this one. -->",
        "",
        contract.description,
        "",
        "Loading rules:",
        "",
        "- A file missing a required column stops the load with an error naming the file and"
        " the column; nothing from that load is kept.",
        "- Extra columns are ignored with a warning.",
        "- A value that cannot be typed, or an empty value in a non-nullable column, sends the"
        " row to `raw._load_rejects` (file, line, column, reason, raw text); the other rows load.",
        "- A file whose content was loaded before (same SHA-256) is skipped: loading twice adds"
        " nothing. `raw._load_manifest` records every loaded file, and every entry of the landing"
        " folder that was not loaded (hidden file, sub-folder, other file type) with the reason.",
        "- A `.csv.gz` file must decompress completely; one cut short stops the load, naming the file.",
        "- Allowed values, keys and references are business rules: rows that break them reach"
        " `raw` and are quarantined by dbt (`audit.audit_quarantine`) with their reason.",
        "- Values a business names its own way (acquisition and sales channels, product"
        " categories) are allowed by a seed, `seeds/<name>.csv`, not by this contract: edit the"
        " seed to add yours. A value the seed does not list is quarantined with the reason"
        " `<column>_not_in_seeds/<name>.csv`. After editing a seed, rebuild with"
        " `dbt build --full-refresh --profiles-dir .` (incremental models only re-check rows of"
        " new loads).",
        "",
        B2C_MODE,
        "",
    ]
    for entity in contract.entities:
        lines += [
            f"## {entity.name}",
            "",
            entity.description,
            "",
            "| column | type | required | nullable | key | allowed values | description |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for col in entity.columns:
            allowed = ", ".join(f"`{v}`" for v in col.allowed) or (
                f"values of seed `seeds/{col.allowed_seed}.csv`" if col.allowed_seed else ""
            )
            description = col.description + (" **PII.**" if col.pii and "PII" not in col.description else "")
            lines.append(
                f"| `{col.name}` | {col.type} | {'yes' if col.required else 'no'} | "
                f"{'yes' if col.nullable else 'no'} | {'yes' if col.key else ''} | {allowed} | "
                f"{description} |"
            )
        lines.append("")
    return "\n".join(lines)
