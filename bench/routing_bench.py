"""What routing adds to each message: choosing the rule, with 100 rules in front of it.

Delivery runs ``routing.resolve(rules, Subject.of_message(message))`` once per claimed message
(the rules themselves are loaded once per configuration change, not per message). This times
exactly that, in process, for the cases that cost most: no rule matches (all 100 are checked),
the last rule matches, and rules on countries (the recipient's country is parsed once per
message). Goal (issue 14): at most 0.5 ms per message at 100 rules.

    .venv/bin/python bench/routing_bench.py [--rules 100] [--messages 20000]
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "phoneprovider.settings")

import django  # noqa: E402

django.setup()

from phoneprovider import routing  # noqa: E402
from phoneprovider.models import Connection, PhoneMessage  # noqa: E402

COUNTRIES = ["DE", "FR", "ES", "IT", "NL", "BE", "SE", "NO", "DK", "FI", "PL", "PT", "IE", "AT"]


def _rule(index: int, connections, **match) -> routing.Rule:
    fields = {
        "countries": frozenset(),
        "prefixes": (),
        "message_types": frozenset(),
        "delivery_methods": frozenset(),
        "client_ids": frozenset(),
        "organization_ids": frozenset(),
    }
    fields.update(match)
    return routing.Rule(
        pk=index + 1,
        public_id=f"prt_{index}",
        name=f"rule {index}",
        position=index,
        enabled=True,
        connections=connections,
        **fields,
    )


def rules_of(count: int, *, last_matches: bool) -> tuple[routing.Rule, ...]:
    """``count`` rules mixing every kind of condition; none matches a +1 415 number, except the
    last one when ``last_matches``."""
    connections = (Connection(name="a", kind="twilio"), Connection(name="b", kind="twilio"))
    rules = []
    for i in range(count - 1):
        kind = i % 4
        if kind == 0:
            match = {"countries": frozenset(COUNTRIES[i % len(COUNTRIES) :][:3])}
        elif kind == 1:
            match = {"prefixes": (f"+4{i % 10}", f"+3{i % 10}")}
        elif kind == 2:
            match = {"organization_ids": frozenset({f"org_{i}"}), "countries": frozenset({"US"})}
        else:
            match = {"client_ids": frozenset({f"client_{i}"}), "message_types": frozenset({"otp"})}
        rules.append(_rule(i, connections, **match))
    last = {"countries": frozenset({"US"})} if last_matches else {"countries": frozenset({"JP"})}
    rules.append(_rule(count - 1, connections, **last))
    return tuple(rules)


def per_message_us(rules, messages, rounds: int = 5) -> float:
    """Median over ``rounds`` of the microseconds one message's rule choice takes."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for message in messages:
            routing.resolve(rules, routing.Subject.of_message(message))
        times.append((time.perf_counter() - start) / len(messages) * 1e6)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rules", type=int, default=100)
    parser.add_argument("--messages", type=int, default=20000)
    args = parser.parse_args()
    messages = [
        PhoneMessage(
            recipient=f"+1415555{n % 10000:04d}",
            message_type="otp_verify",
            delivery_method="text",
            context={"client": {"client_id": "app"}, "organization": {"id": "org_x"}},
        )
        for n in range(args.messages)
    ]
    print(f"routing bench: {args.rules} rules, {args.messages} messages, median of 5 rounds")
    for label, rules in (
        ("no rule matches (all checked)", rules_of(args.rules, last_matches=False)),
        ("the last rule matches", rules_of(args.rules, last_matches=True)),
        ("no rules (the default provider)", ()),
    ):
        print(f"  {label:34s} {per_message_us(rules, messages):8.1f} µs per message")
    print("  goal: ≤ 500 µs per message at 100 rules")


if __name__ == "__main__":
    main()
