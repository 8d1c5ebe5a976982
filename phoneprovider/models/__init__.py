"""Rows and their invariants. Writes go through ``phoneprovider.services``."""

from phoneprovider.models.core import (
    Action,
    ActionSecret,
    ActionVersion,
    ApiToken,
    AuditEntry,
    DeliveryAttempt,
    DeliveryMethod,
    Execution,
    MessageType,
    PhoneMessage,
    PhoneProvider,
    PhoneTemplate,
)
from phoneprovider.models.operations import DeliveryPolicy, LimitWindow, PurgeRun
from phoneprovider.models.routing import Connection, Route, RouteConnection

__all__ = [
    "Action",
    "ActionSecret",
    "ActionVersion",
    "ApiToken",
    "AuditEntry",
    "Connection",
    "DeliveryAttempt",
    "DeliveryMethod",
    "DeliveryPolicy",
    "Execution",
    "LimitWindow",
    "MessageType",
    "PhoneMessage",
    "PhoneProvider",
    "PhoneTemplate",
    "PurgeRun",
    "Route",
    "RouteConnection",
]
