"""The configuration document as text and the checks every section uses.

Reading (YAML with the line of every key, so errors name it), writing (code and bodies as
blocks), and the small checks that turn a bad value into a ``ConfigError`` naming the line and
the field: unknown keys, wrong types, secret values written in the file, unset variables.
"""

import re

import yaml

from phoneprovider.errors import ApplicationError, ValidationError

_REFERENCE = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")


class ConfigError(ValidationError):
    """A problem with the document, naming the line (when read from text) and the field."""

    def __init__(self, message: str, *, path: str = "", line: int | None = None):
        where = ", ".join(p for p in (f"line {line}" if line else "", path) if p)
        super().__init__(f"{where}: {message}" if where else message, field=path or None)
        self.path = path
        self.config_line = line


def config_load(text: str) -> tuple[dict, dict[str, int]]:
    """Parse YAML text; return the document and the line of every key path (``a.b.c``)."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(
            f"not readable as YAML: {problem}", line=mark.line + 1 if mark else None
        ) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError("the document must be a mapping (provider:, templates:, …)", line=1)
    lines: dict[str, int] = {}
    _lines_of(node, "", lines)
    return data, lines


def _lines_of(node, path: str, lines: dict[str, int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            sub = f"{path}.{key.value}" if path else str(key.value)
            lines[sub] = key.start_mark.line + 1
            _lines_of(value, sub, lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            sub = f"{path}[{i}]"
            lines[sub] = item.start_mark.line + 1
            _lines_of(item, sub, lines)


def _text(dumper, value):
    """Multi-line text (handler code, template bodies) as a YAML block, the rest as usual."""
    block = "\n" in value and all(ch == "\n" or ch.isprintable() for ch in value)
    block = block and not value.endswith((" ", "\n\n")) and "\n " not in value.split("\n", 1)[0]
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if block else None)


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(str, _text)
_Dumper.add_multi_representer(str, _text)  # TextChoices values too


def config_dump(doc: dict) -> str:
    """The document as YAML, keys in a reading order, code and bodies as blocks."""
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def env_value(value, path: str, lines: dict, env) -> str:
    if not isinstance(value, str) or not _REFERENCE.match(value):
        raise ConfigError(
            "secret values are not written in the file; use an ${ENV_NAME} reference",
            path=path,
            line=lines.get(path),
        )
    name = _REFERENCE.match(value).group(1)
    if name not in env or env[name] == "":
        raise ConfigError(
            f"the environment variable {name} is not set", path=path, line=lines.get(path)
        )
    return env[name]


def check_keys(section, allowed: set, path: str, lines: dict) -> dict:
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise ConfigError("must be a mapping", path=path, line=lines.get(path))
    for key in section:
        if key not in allowed:
            sub = f"{path}.{key}" if path else str(key)
            raise ConfigError(
                f"unknown key {key!r}; known keys: {', '.join(sorted(allowed))}",
                path=sub,
                line=lines.get(sub),
            )
    return section


def check_type(value, kind, path: str, lines: dict, label: str):
    ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
    if not ok:
        raise ConfigError(f"must be {label}", path=path, line=lines.get(path))
    return value


def token_apply(section: dict, current, fields: dict, changed: list, path: str, lines: dict, env):
    """Put the auth token ``section`` references into ``fields`` when it is not the one
    ``current`` (a provider or connection, or None) stores, and add its path to ``changed``:
    applying reports which tokens changed, never their values."""
    if "auth_token" not in section:
        return
    token = env_value(section["auth_token"], f"{path}.auth_token", lines, env)
    if current is None or current.twilio_auth_token != token:
        fields["twilio_auth_token"] = token
        changed.append(f"{path}.auth_token")


def section_errors(path: str, lines: dict, *, under: dict[str, str] | None = None):
    """Re-raise a service's error with the document's line and field beside it. ``under`` names
    the key a field is written below in the file (a rule's conditions sit under ``match``)."""

    class _Wrap:
        def __enter__(self):
            return self

        def __exit__(self, kind, exc, tb):
            if isinstance(exc, ConfigError) or not isinstance(exc, ApplicationError):
                return False
            field = getattr(exc, "field", None)
            if field and under and field in under:
                field = f"{under[field]}.{field}"
            sub = f"{path}.{field}" if field else path
            line = lines.get(sub) or lines.get(path)
            raise ConfigError(exc.message, path=sub, line=line) from None

    return _Wrap()
