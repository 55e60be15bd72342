"""The JSON Schemas in schemas/, and validation against them."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from collector.errors import BadInput


@cache
def schema_names() -> list[str]:
    """Every schema shipped in schemas/ (profile, case, manifest, facts_<plugin>)."""
    folder = resources.files("collector.schemas")
    suffix = ".schema.json"
    return sorted(f.name[: -len(suffix)] for f in folder.iterdir() if f.name.endswith(suffix))


MANIFEST_SCHEMA_VERSION = "1.0"


def has_schema(name: str) -> bool:
    return name in schema_names()


@cache
def load_schema(name: str) -> dict[str, Any]:
    text = resources.files("collector.schemas").joinpath(f"{name}.schema.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _validator(name: str) -> Draft202012Validator:
    registry: Registry[Any] = Registry().with_resources(
        (load_schema(n)["$id"], Resource.from_contents(load_schema(n))) for n in schema_names()
    )
    return Draft202012Validator(
        load_schema(name),
        registry=registry,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def schema_errors(name: str, document: object) -> list[str]:
    """Every violation, as 'where: what' lines (empty when valid)."""
    errors = sorted(_validator(name).iter_errors(document), key=lambda e: list(e.absolute_path))
    return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in errors]


def validate(name: str, document: object, what: str) -> None:
    """Raise BadInput naming the first problem, for input from a user."""
    errors = schema_errors(name, document)
    if errors:
        raise BadInput(f"{what} is not valid: {errors[0]}")
