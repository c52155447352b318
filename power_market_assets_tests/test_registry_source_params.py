"""Source parameters are typed per ISO: no string-keyed look-ups, no ERCOT fields on the spec."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

from power_market_assets.registry import DATASETS_BY_ISO, DatasetSpec
from power_market_assets.registry.caiso import CaisoSource
from power_market_assets.registry.ercot import ErcotSource
from power_market_assets.registry.isone import IsoneSource
from power_market_assets.registry.nyiso import NyisoSource
from power_market_assets.registry.pjm import PjmSource

REPO = Path(__file__).resolve().parents[1]
# The packages whose code reads specs (production and stand-ins).
PACKAGES = ("power_market_assets", "power_market_standins")
SOURCE_TYPES: dict[str, type] = {
    "ERCOT": ErcotSource,
    "CAISO": CaisoSource,
    "NYISO": NyisoSource,
    "ISONE": IsoneSource,
    "PJM": PjmSource,
}
# Fields that only ERCOT has, which live on ErcotSource now.
ERCOT_ONLY = ("report_id", "friendly_name_stem", "api_path", "listing_day_rule")


def test_every_iso_has_a_source_type() -> None:
    assert set(SOURCE_TYPES) == set(DATASETS_BY_ISO)


@pytest.mark.parametrize("iso", sorted(DATASETS_BY_ISO))
def test_every_spec_source_is_its_iso_dataclass(iso: str) -> None:
    for spec in DATASETS_BY_ISO[iso]:
        assert type(spec.source) is SOURCE_TYPES[iso], f"{iso} {spec.dataset}: {spec.source!r}"


@pytest.mark.parametrize("source_type", list(SOURCE_TYPES.values()), ids=list(SOURCE_TYPES))
def test_source_types_are_frozen_and_typed(source_type: type) -> None:
    params = source_type.__dataclass_params__
    assert params.frozen, f"{source_type.__name__} is not frozen"
    untyped = [f.name for f in dataclasses.fields(source_type) if not f.type]
    assert not untyped, f"{source_type.__name__}: untyped fields {untyped}"


def test_spec_has_no_string_keyed_or_ercot_only_fields() -> None:
    names = {f.name for f in dataclasses.fields(DatasetSpec)}
    assert "source_params" not in names and not hasattr(DatasetSpec, "param")
    assert not names & set(ERCOT_ONLY), sorted(names & set(ERCOT_ONLY))


def _param_calls(path: Path) -> list[str]:
    """`<obj>.param(...)` calls in a module, except pytest.param."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [
        f"{path.relative_to(REPO)}:{node.lineno}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "param"
        and not (isinstance(node.func.value, ast.Name) and node.func.value.id == "pytest")
    ]


def test_no_param_lookup_remains() -> None:
    modules = [p for pkg in PACKAGES for p in sorted((REPO / pkg).rglob("*.py"))]
    calls = [call for path in modules for call in _param_calls(path)]
    assert not calls, f"string-keyed spec.param(...) calls remain: {calls}"
