"""Opaque public ids, as Auth0 shapes them (``pro_`` + 22 base62 characters, and so on)."""

import secrets
import string
import uuid

_BASE62 = string.digits + string.ascii_letters


def _prefixed(prefix: str, length: int = 22) -> str:
    return prefix + "".join(secrets.choice(_BASE62) for _ in range(length))


def new_provider_id() -> str:
    return _prefixed("pro_")


def new_template_id() -> str:
    return _prefixed("tem_")


def new_message_id() -> str:
    return _prefixed("msg_")


def new_execution_id() -> str:
    return _prefixed("exe_")


def new_uuid() -> str:
    return str(uuid.uuid4())


def new_connection_id() -> str:
    return _prefixed("pcn_")


def new_route_id() -> str:
    return _prefixed("prt_")
