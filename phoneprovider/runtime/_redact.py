"""What the host does to an execution's report before it leaves the runtime: secrets redacted
(in every form they take on the way into a log or URL), sensitive headers masked, logs capped
and ``api.cache`` writes checked again (the runtime process is not trusted to have done so)."""

from __future__ import annotations

import base64
import functools
import json
import re
import time
import urllib.parse

_SENSITIVE_HEADERS = {"authorization", "proxy-authorization", "cookie", "x-api-key", "api-key"}


# Base64 of a secret inside a longer blob (an Authorization header's user:password) depends on
# where it starts; its alignment-independent middle is redacted when at least this long.
_BASE64_CORE_MIN = 8


def _json_escaped(v: str) -> set[str]:
    """The forms JSON.stringify (once, or twice for JSON inside JSON) and json.dumps write."""
    forms = set()
    for ascii_only in (False, True):
        once = json.dumps(v, ensure_ascii=ascii_only)[1:-1]
        forms.update({once, json.dumps(once, ensure_ascii=ascii_only)[1:-1]})
    return forms


def _base64_forms(v: str) -> set[str]:
    """The secret's base64 (standard and URL-safe, padded or not) at each of the three byte
    alignments it can have inside a longer encoded text."""
    raw = v.encode("utf-8", "surrogatepass")
    forms = set()
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + raw).decode()
        start = -(-offset * 8 // 6)  # characters that also carry the bytes before the secret
        end = (offset + len(raw)) * 8 // 6  # characters fully made of the secret's bits
        core = encoded[start:end]
        if offset == 0 and len(raw) >= 4:
            forms.add(encoded)
            forms.add(encoded.rstrip("="))
        if len(core) >= _BASE64_CORE_MIN:
            forms.add(core)
    return forms | {f.replace("+", "-").replace("/", "_") for f in forms}


class Redactor:
    """Replaces every secret value with ``[redacted]``, and the forms it takes on the way into a
    log or a URL: URL-encoded, JSON-escaped (once or twice) and base64. Request URLs name the
    secret instead (``url``)."""

    def __init__(self, secrets: dict[str, str]):
        variants: set[str] = set()
        for v in secrets.values():
            if not isinstance(v, str) or not v:
                continue
            variants.update({v, urllib.parse.quote(v, safe=""), urllib.parse.quote_plus(v)})
            variants.update(_json_escaped(v))
            variants.update(_base64_forms(v))
        variants.discard("")
        ordered = sorted(variants, key=len, reverse=True)
        self._re = re.compile("|".join(re.escape(v) for v in ordered)) if ordered else None
        # In a request's URL a secret is shown by name, ``${GATEWAY_URL}/sms``: which secret the
        # URL was built from is what people need to read it; the value still never shows.
        self._names: dict[str, str] = {}
        for name, v in secrets.items():
            if isinstance(v, str) and v:
                for form in (v, urllib.parse.quote(v, safe=""), urllib.parse.quote_plus(v)):
                    self._names.setdefault(form, name)
        named = sorted(self._names, key=len, reverse=True)
        self._url_re = re.compile("|".join(re.escape(v) for v in named)) if named else None

    def text(self, s):
        if self._re is None or not isinstance(s, str):
            return s
        return self._re.sub("[redacted]", s)

    def url(self, s):
        """A request URL: each secret written as it is (or URL-encoded) becomes ``${NAME}``;
        any other form of one (base64, JSON-escaped) is ``[redacted]`` as in text."""
        if self._url_re is None or not isinstance(s, str):
            return self.text(s)
        return self.text(self._url_re.sub(lambda m: "${" + self._names[m.group(0)] + "}", s))

    def deep(self, value):
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.deep(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self.deep(v) for v in value)
        if isinstance(value, dict):
            return {k: self.deep(v) for k, v in value.items()}
        return value


def redactor_for(secrets: dict[str, str]) -> Redactor:
    """A ``Redactor`` for these secrets, shared by executions with the same ones: building one
    (every form of every secret, one pattern) costs more than a whole warm execution's host side."""
    try:
        return _cached_redactor(tuple(sorted(secrets.items())))
    except TypeError:  # a value that cannot be a cache key (not a str: never redacted anyway)
        return Redactor(secrets)


@functools.lru_cache(maxsize=256)
def _cached_redactor(items: tuple) -> Redactor:
    return Redactor(dict(items))


def mask_header(name: str, value: str) -> str:
    if name.lower() not in _SENSITIVE_HEADERS:
        return value
    scheme, _, rest = value.partition(" ")
    return f"{scheme} [redacted]" if rest else "[redacted]"


_KEY_RE_MAX = 64
_VALUE_MAX = 4096


def checked_cache_changes(changes) -> dict:
    """The host re-checks what the isolate says it wrote (the isolate is not trusted)."""
    if not isinstance(changes, dict):
        return {}
    now = time.time() * 1000
    out = {}
    for key, record in list(changes.items())[:20]:
        if not isinstance(key, str) or not key or len(key.encode()) > _KEY_RE_MAX:
            continue
        if record is None:
            out[key] = None
            continue
        if not isinstance(record, dict):
            continue
        value, expires = record.get("value"), record.get("expires_at")
        if not isinstance(value, str) or len(value.encode()) > _VALUE_MAX:
            continue
        if not isinstance(expires, int | float) or not now < expires <= now + 86_400_000 + 60_000:
            continue
        out[key] = {"value": value, "expires_at": int(expires)}
    return out


def cap_logs(logs, max_bytes: int) -> tuple[list[dict], bool]:
    out, used, cut = [], 0, False
    for entry in logs if isinstance(logs, list) else []:
        if not isinstance(entry, dict):
            continue
        msg = str(entry.get("message", ""))
        cost = len(msg.encode()) + 32
        if used + cost > max_bytes:
            cut = True
            break
        used += cost
        out.append(
            {
                "level": str(entry.get("level", "log"))[:8],
                "message": msg,
                "t_ms": entry.get("t_ms", 0),
            }
        )
    return out, cut
