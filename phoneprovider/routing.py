"""Which route a message takes: the routing rules as loaded once per configuration change, and
the matching that runs for every message (delivery), every "Which route?" question (dashboard)
and every ``POST /phone/routes/resolve`` (API) — one matcher, so the three always agree.

Matching is plain Python over frozensets: no database access, and the recipient's country is
worked out once per message and only when some rule asks for countries.
"""

from dataclasses import dataclass, field

from phoneprovider.models import Connection, PhoneMessage, Route
from phoneprovider.phone import region_of


@dataclass(frozen=True)
class Rule:
    """A routing rule as delivery sees it, with its connections in failover order."""

    pk: int
    public_id: str
    name: str
    position: int
    enabled: bool
    countries: frozenset[str]
    prefixes: tuple[str, ...]
    message_types: frozenset[str]
    delivery_methods: frozenset[str]
    client_ids: frozenset[str]
    organization_ids: frozenset[str]
    connections: tuple[Connection, ...]

    @classmethod
    def only(cls, connection: Connection) -> "Rule":
        """A stand-in rule for a message pinned to one connection (a connection's Test)."""
        return cls(
            pk=0,
            public_id="",
            name=f"Test of {connection.name}",
            position=0,
            enabled=True,
            countries=frozenset(),
            prefixes=(),
            message_types=frozenset(),
            delivery_methods=frozenset(),
            client_ids=frozenset(),
            organization_ids=frozenset(),
            connections=(connection,),
        )

    def connection_at(self, step: int) -> Connection:
        """The connection for failover step ``step`` (the last one if the rule got shorter)."""
        return self.connections[min(step, len(self.connections) - 1)]

    def has_step_after(self, step: int) -> bool:
        return step + 1 < len(self.connections)


@dataclass
class Subject:
    """What a rule can match on: the number and the sending API's context."""

    recipient: str
    message_type: str = ""
    delivery_method: str = ""
    client_id: str = ""
    organization_id: str = ""
    _country: str | None = field(default=None, repr=False)

    @classmethod
    def of_message(cls, message: PhoneMessage) -> "Subject":
        context = message.context or {}
        return cls(
            recipient=message.recipient,
            message_type=message.message_type,
            delivery_method=message.delivery_method,
            client_id=str((context.get("client") or {}).get("client_id") or ""),
            organization_id=str((context.get("organization") or {}).get("id") or ""),
        )

    @property
    def country(self) -> str:
        if self._country is None:
            try:
                self._country = region_of(self.recipient)
            except Exception:  # not a parsable number: no country matches it
                self._country = ""
        return self._country


def rules_load() -> tuple[Rule, ...]:
    """Every rule (disabled ones too: a message already on a rule keeps failing over along it),
    in order, with its connections: two queries."""
    routes = Route.objects.prefetch_related("steps__connection").order_by("position", "pk")
    return tuple(
        Rule(
            pk=route.pk,
            public_id=route.public_id,
            name=route.name,
            position=route.position,
            enabled=route.enabled,
            countries=frozenset(route.countries),
            prefixes=tuple(route.prefixes),
            message_types=frozenset(route.message_types),
            delivery_methods=frozenset(route.delivery_methods),
            client_ids=frozenset(route.client_ids),
            organization_ids=frozenset(route.organization_ids),
            connections=tuple(step.connection for step in route.steps.all()),
        )
        for route in routes
    )


def failed_condition(rule: Rule, subject: Subject) -> str | None:
    """The first condition of ``rule`` that ``subject`` fails (None: the rule matches).
    Conditions are ANDed; an empty one matches everything. Runs for every rule a message
    passes, so it only compares: the words come from ``mismatch`` when someone asks."""
    if not rule.enabled:
        return "enabled"
    if rule.countries and subject.country not in rule.countries:
        return "countries"
    if rule.prefixes and not subject.recipient.startswith(rule.prefixes):
        return "prefixes"
    if rule.message_types and subject.message_type not in rule.message_types:
        return "message_types"
    if rule.delivery_methods and subject.delivery_method not in rule.delivery_methods:
        return "delivery_methods"
    if rule.client_ids and subject.client_id not in rule.client_ids:
        return "client_ids"
    if rule.organization_ids and subject.organization_id not in rule.organization_ids:
        return "organization_ids"
    return None


# condition → (what the subject has, how people call it)
_CONDITION_WORDS = {
    "countries": (lambda s: s.country or "unknown", "country"),
    "prefixes": (lambda s: s.recipient, "number"),
    "message_types": (lambda s: s.message_type or "(none)", "message type"),
    "delivery_methods": (lambda s: s.delivery_method or "(none)", "delivery method"),
    "client_ids": (lambda s: s.client_id or "(none)", "application"),
    "organization_ids": (lambda s: s.organization_id or "(none)", "organization"),
}


def mismatch(rule: Rule, subject: Subject) -> str | None:
    """Why ``rule`` does not match ``subject``, in words (None when it matches)."""
    condition = failed_condition(rule, subject)
    if condition is None:
        return None
    if condition == "enabled":
        return "the rule is disabled"
    value, label = _CONDITION_WORDS[condition]
    wanted = getattr(rule, condition)
    if condition == "prefixes":
        return f"number {value(subject)} starts with none of {_listed(wanted)}"
    return f"{label} {value(subject)} is not one of {_listed(wanted)}"


def _listed(values) -> str:
    return ", ".join(sorted(values))


def resolve(rules: tuple[Rule, ...], subject: Subject) -> Rule | None:
    """The first enabled rule that matches (None: the default provider)."""
    for rule in rules:
        if failed_condition(rule, subject) is None:
            return rule
    return None


@dataclass
class Explanation:
    """The rule that matched, and for each rule before it why it did not."""

    subject: Subject
    rule: Rule | None
    skipped: list[tuple[Rule, str]]

    @property
    def summary(self) -> str:
        if self.rule is None:
            return "No rule matches: the default provider sends."
        sends = " → ".join(c.name for c in self.rule.connections)
        return f"Rule {self.rule.name!r} matches: {sends}."


def explain(rules: tuple[Rule, ...], subject: Subject) -> Explanation:
    """What ``resolve`` decides, with the reasons (the "Which route?" box and the API)."""
    skipped = []
    for rule in rules:
        why = mismatch(rule, subject)
        if why is None:
            return Explanation(subject, rule, skipped)
        skipped.append((rule, why))
    return Explanation(subject, None, skipped)
