"""Request checking against the JSON Schemas our OpenAPI document publishes.

The schemas in ``schemas.py`` are the single description of what a request may contain: the
OpenAPI document shows them and this module enforces them, so the two cannot drift. Only the
keywords our schemas use are implemented. Messages follow the wording Auth0's validator uses
("Additional properties not allowed: x", "Missing required property: y").
"""

import json
import re
from urllib.parse import parse_qsl

from phoneprovider.api.errors import payload_error

_INDEX = re.compile(r"\[([^\[\]]*)\]")
_ASCII_INDEX = re.compile(r"[0-9]{1,6}")  # not str.isdigit(): "¹" is a digit int() cannot read


def _resolve(schema: dict, components: dict) -> dict:
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _type_of(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _coerce(value: str, types: list[str]):
    """Form fields and query strings are text: read them as the schema's scalar type."""
    if "boolean" in types and value in ("true", "false"):
        return value == "true"
    if ("integer" in types or "number" in types) and re.fullmatch(r"-?\d+", value):
        return int(value)
    if "number" in types and re.fullmatch(r"-?\d+\.\d+", value):
        return float(value)
    return value


def check(
    value,
    schema: dict,
    components: dict,
    *,
    path: str = "",
    coerce: bool = False,
    error=payload_error,
):
    """Validate ``value``; return it (with text coerced when ``coerce``) or raise ``error``."""
    schema = _resolve(schema, components)
    for combinator in ("anyOf", "oneOf"):
        if combinator in schema:
            if isinstance(value, str):  # no alternative takes such text: say what is wrong
                _refuse_bad_text(value, path, error)
            first = None
            for option in schema[combinator]:
                try:
                    return check(value, option, components, path=path, coerce=coerce, error=error)
                except Exception as exc:  # any failure: try the next alternative
                    first = first or exc
            if len(schema[combinator]) == 1 and first is not None:
                raise first
            raise error(f"Data does not match any schemas from '{combinator}'", path)
    types = schema.get("type")
    types = [types] if isinstance(types, str) else list(types or [])
    if coerce and isinstance(value, str) and types:
        value = _coerce(value, types)
    actual = _type_of(value)
    if types and actual not in types and not (actual == "integer" and "number" in types):
        raise error(f"Expected type {' or '.join(types)} but found type {actual}", path)
    if "enum" in schema and value not in schema["enum"]:
        raise error(f"No enum match for: {json.dumps(value)}", path)
    if isinstance(value, str):
        _refuse_bad_text(value, path, error)
        if "minLength" in schema and len(value) < schema["minLength"]:
            raise error(
                f"String is too short ({len(value)} chars), minimum {schema['minLength']}", path
            )
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            raise error(
                f"String is too long ({len(value)} chars), maximum {schema['maxLength']}", path
            )
    if actual in ("integer", "number"):
        if "minimum" in schema and value < schema["minimum"]:
            raise error(f"Value {value} is less than minimum {schema['minimum']}", path)
        if "maximum" in schema and value > schema["maximum"]:
            raise error(f"Value {value} is greater than maximum {schema['maximum']}", path)
    if isinstance(value, list):
        if "minItems" in schema and len(value) < schema["minItems"]:
            raise error(f"Array is too short ({len(value)}), minimum {schema['minItems']}", path)
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            raise error(f"Array is too long ({len(value)}), maximum {schema['maxItems']}", path)
        if "items" in schema:
            value = [
                check(
                    item,
                    schema["items"],
                    components,
                    path=f"{path}[{i}]",
                    coerce=coerce,
                    error=error,
                )
                for i, item in enumerate(value)
            ]
    if isinstance(value, dict):
        value = _check_object(value, schema, components, path=path, coerce=coerce, error=error)
    return value


def _check_object(
    value: dict, schema: dict, components: dict, *, path: str, coerce: bool, error
) -> dict:
    properties = schema.get("properties", {})
    for name in schema.get("required", []):
        if name not in value:
            raise error(f"Missing required property: {name}", path)
    if schema.get("additionalProperties") is False:
        extra = [k for k in value if k not in properties]
        if extra:
            raise error(f"Additional properties not allowed: {extra[0]}", path)
    if "minProperties" in schema and len(value) < schema["minProperties"]:
        raise error(
            f"Too few properties defined ({len(value)}), minimum {schema['minProperties']}", path
        )
    checked = dict(value)
    for name, item in value.items():
        if name not in properties:
            _refuse_nul(name, path, error)
            _refuse_nul(item, f"{path}.{name}" if path else name, error)
        else:
            checked[name] = check(
                item,
                properties[name],
                components,
                path=f"{path}.{name}" if path else name,
                coerce=coerce,
                error=error,
            )
    return checked


MAX_DEPTH = 32


def _refuse_bad_text(value: str, path: str, error) -> None:
    """Text no database stores: NUL (PostgreSQL refuses it) and lone surrogates such as JSON's
    "\\ud800" (not Unicode, so not UTF-8): refused here, not with a 500 later."""
    if "\x00" in value:
        raise error("String contains a NUL character", path)
    if not value.isascii():
        try:
            value.encode()
        except UnicodeEncodeError:
            raise error("String contains a lone surrogate (not valid Unicode)", path) from None


def _refuse_nul(value, path: str, error, depth: int = 0) -> None:
    """Free-form objects (user, request, a test event) are stored as JSON; no NUL inside."""
    if depth > MAX_DEPTH:
        raise error(f"Objects may nest at most {MAX_DEPTH} levels", path)
    if isinstance(value, str):
        _refuse_bad_text(value, path, error)
    elif isinstance(value, dict):
        for key, item in value.items():
            _refuse_nul(key, path, error, depth + 1)
            _refuse_nul(item, f"{path}.{key}", error, depth + 1)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _refuse_nul(item, f"{path}[{i}]", error, depth + 1)


def parse_form(body: str) -> dict:
    """``a[b][0]=x&flag=true`` → ``{"a": {"b": ["x"]}, "flag": "true"}`` (qs-style brackets)."""
    root: dict = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        head = key.split("[", 1)[0]
        parts = [head, *_INDEX.findall(key[len(head) :])]
        if len(parts) > MAX_DEPTH:
            raise payload_error(f"Form fields may nest at most {MAX_DEPTH} levels", head)
        node = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if part == "":
                part = str(len(node))
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
                if not isinstance(node, dict):
                    raise payload_error(f"Conflicting form fields for {head}")
    return _lists(root)


def _lists(node):
    if not isinstance(node, dict):
        return node
    converted = {k: _lists(v) for k, v in node.items()}
    if converted and all(_ASCII_INDEX.fullmatch(k) for k in converted):
        return [converted[k] for k in sorted(converted, key=int)]
    return converted
