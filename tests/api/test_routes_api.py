"""/api/v2/phone/connections and /api/v2/phone/routes: routing as an API (our extension)."""

import pytest

from phoneprovider import routing
from phoneprovider.models import AuditEntry, Connection, PhoneMessage, Route
from phoneprovider.services import queue
from tests.api.conftest import TWILIO_MSSID, TWILIO_SID, assert_error

pytestmark = pytest.mark.django_db

TOKEN = "twilio-auth-token-never-shown"
VERIFY_TOKEN = "verify-auth-token-never-shown"
VERIFY_SID = "VA" + "0123456789abcdef" * 2


def twilio_body(name="uk", **configuration) -> dict:
    return {
        "name": name,
        "kind": "twilio",
        "configuration": {"sid": TWILIO_SID, "default_from": "+447400123456", **configuration},
        "credentials": {"auth_token": TOKEN},
    }


def create_connection(api, body=None) -> dict:
    response = api.post("/phone/connections", body or twilio_body())
    assert response.status_code == 201, response.content
    return response.json()


def create_route(api, name, connections, **fields) -> dict:
    body = {"name": name, "connections": [c["id"] for c in connections], **fields}
    response = api.post("/phone/routes", body)
    assert response.status_code == 201, response.content
    return response.json()


def test_connection_round_trip_keeps_credentials_write_only(api):
    created = create_connection(api)
    assert created["id"].startswith("pcn_")
    assert created["kind"] == "twilio"
    assert created["configuration"] == {"sid": TWILIO_SID, "default_from": "+447400123456"}
    assert set(created) == {"id", "name", "kind", "configuration", "created_at", "updated_at"}
    stored = Connection.objects.get(public_id=created["id"])
    assert stored.twilio_auth_token == TOKEN

    path = f"/phone/connections/{created['id']}"
    assert api.get(path).json() == created
    assert api.get("/phone/connections").json() == {"connections": [created]}

    patched = api.patch(
        path,
        {
            "name": "uk-dublin",
            "configuration": {
                "sid": TWILIO_SID,
                "mssid": TWILIO_MSSID,
                "api_host": "api.dublin.ie1.twilio.com",
            },
        },
    )
    assert patched.status_code == 200, patched.content
    assert patched.json()["name"] == "uk-dublin"
    # Configuration is replaced as a whole: the From went with it.
    assert patched.json()["configuration"] == {
        "sid": TWILIO_SID,
        "mssid": TWILIO_MSSID,
        "api_host": "api.dublin.ie1.twilio.com",
    }
    stored.refresh_from_db()
    assert stored.twilio_auth_token == TOKEN  # credentials left out keep the token
    rotated = api.patch(path, {"credentials": {"auth_token": "rotated-token"}})
    assert rotated.status_code == 200
    stored.refresh_from_db()
    assert stored.twilio_auth_token == "rotated-token"

    assert api.delete(path).status_code == 204
    assert_error(api.get(path), 404)
    audit = AuditEntry.objects.filter(object_type="phone_connection", actor="ci-robot")
    assert audit.order_by("pk").first().verb == "create"
    assert TOKEN not in str(list(audit.values_list("changes", flat=True)))


def test_verify_and_custom_connections_have_their_own_configuration(api, deployed_action):
    verify = create_connection(
        api,
        {
            "name": "verify",
            "kind": "twilio_verify",
            "configuration": {"sid": TWILIO_SID, "service_sid": VERIFY_SID},
            "credentials": {"auth_token": VERIFY_TOKEN},
        },
    )
    assert verify["configuration"] == {"sid": TWILIO_SID, "service_sid": VERIFY_SID}
    custom = create_connection(
        api, {"name": "gateway", "kind": "custom", "configuration": {"region": "eu"}}
    )
    assert custom["configuration"] == {"region": "eu"}
    refused = api.post(
        "/phone/connections",
        {"name": "g2", "kind": "custom", "credentials": {"auth_token": "x"}},
    )
    assert_error(refused, 400, contains="auth_token")
    changed_kind = api.patch(f"/phone/connections/{verify['id']}", {"kind": "twilio"})
    assert_error(changed_kind, 400, contains="kind can't change")


def test_credentials_never_appear_in_any_response(api):
    bodies = []
    connection = create_connection(api)
    bodies.append(connection)
    path = f"/phone/connections/{connection['id']}"
    for response in (
        api.get(path),
        api.get("/phone/connections"),
        api.patch(path, {"credentials": {"auth_token": TOKEN}}),
        api.post("/phone/connections", twilio_body()),  # 409, its name taken
        api.post("/phone/routes", {"name": "r", "connections": [connection["id"]]}),
        api.post("/phone/routes/resolve", {"to": "+447400123456"}),
        api.get("/openapi.json"),
    ):
        bodies.append(response.content.decode())
    assert TOKEN not in str(bodies)
    assert "auth_token" not in str(bodies[:-1])


def test_scopes_read_and_update(api, api_as):
    connection = create_connection(api)
    reader = api_as("read:phone_routes")
    assert reader.get("/phone/connections").status_code == 200
    assert reader.get("/phone/routes").status_code == 200
    assert reader.post("/phone/routes/resolve", {"to": "+447400123456"}).status_code == 200
    for response in (
        reader.post("/phone/connections", twilio_body("other")),
        reader.patch(f"/phone/connections/{connection['id']}", {"name": "x"}),
        reader.delete(f"/phone/connections/{connection['id']}"),
        reader.post("/phone/routes", {"name": "r", "connections": [connection["id"]]}),
        reader.request("PUT", "/phone/routes/order", {"order": []}),
        reader.post(f"/phone/connections/{connection['id']}/try", {"to": "+447400123456"}),
    ):
        assert_error(response, 403, contains="update:phone_routes")
    outsider = api_as("read:phone_providers")
    assert_error(outsider.get("/phone/routes"), 403, contains="read:phone_routes")
    assert_error(outsider.get("/phone/connections"), 403)
    writer = api_as("update:phone_routes")
    assert (
        writer.post("/phone/routes", {"name": "r", "connections": [connection["id"]]}).status_code
        == 201
    )
    assert_error(writer.get("/phone/routes"), 403)


def test_route_round_trip_merges_match_and_keeps_order(api):
    uk, us = create_connection(api, twilio_body("uk")), create_connection(api, twilio_body("us"))
    first = create_route(api, "UK", [uk, us], match={"countries": ["gb"], "prefixes": ["+447"]})
    assert first["id"].startswith("prt_")
    assert first["position"] == 0 and first["enabled"] is True
    assert first["match"] == {
        "countries": ["GB"],
        "prefixes": ["+447"],
        "message_types": [],
        "delivery_methods": [],
        "client_ids": [],
        "organization_ids": [],
    }
    assert first["connections"] == [uk["id"], us["id"]]
    second = create_route(api, "Acme", [us], match={"organization_ids": ["org_acme"]}, position=0)
    assert second["position"] == 0
    listed = api.get("/phone/routes").json()["routes"]
    assert [r["name"] for r in listed] == ["Acme", "UK"]
    assert [r["position"] for r in listed] == [0, 1]

    path = f"/phone/routes/{first['id']}"
    patched = api.patch(
        path, {"match": {"prefixes": []}, "enabled": False, "connections": [us["id"]]}
    )
    assert patched.status_code == 200, patched.content
    body = patched.json()
    assert body["match"]["countries"] == ["GB"]  # not given: kept
    assert body["match"]["prefixes"] == []  # given: replaced
    assert body["enabled"] is False and body["connections"] == [us["id"]]
    assert api.get(path).json() == body

    reordered = api.request("PUT", "/phone/routes/order", {"order": [first["id"], second["id"]]})
    assert reordered.status_code == 200, reordered.content
    assert [r["name"] for r in reordered.json()["routes"]] == ["UK", "Acme"]
    assert list(Route.objects.values_list("name", flat=True)) == ["UK", "Acme"]
    bad_order = api.request("PUT", "/phone/routes/order", {"order": [first["id"]]})
    assert_error(bad_order, 400, contains="every rule's id exactly once")

    assert api.delete(path).status_code == 204
    assert_error(api.get(path), 404)
    assert [r["position"] for r in api.get("/phone/routes").json()["routes"]] == [0]


def test_bad_route_input_is_a_400_naming_the_field(api):
    uk = create_connection(api)
    cases = [
        (
            {"name": "r", "connections": [uk["id"]], "match": {"countries": ["XX"]}},
            "'XX' is not a country code",
        ),
        ({"name": "r", "connections": []}, "at least one connection"),
        ({"name": "r", "connections": ["pcn_gone"]}, "No connection 'pcn_gone' exists"),
        ({"name": "r", "connections": [uk["id"], uk["id"]]}, "listed twice"),
        (
            {"name": "r", "connections": uk["id"]},
            "'Expected type array but found type string' on property connections",
        ),
        ({"name": "r", "connections": [uk["id"]], "enabled": "yes"}, "on property enabled"),
        (
            {"name": "r", "connections": [uk["id"]], "match": {"message_types": ["sms"]}},
            "on property match.message_types[0]",
        ),
        (
            {"name": "r", "connections": [uk["id"]], "match": {"prefixes": ["44"]}},
            "'44' is not a prefix",
        ),
        (
            {"name": "r", "connections": [uk["id"]], "colour": "red"},
            "Additional properties not allowed: colour",
        ),
        (
            {"name": "r", "connections": [uk["id"]], "match": {"country": ["GB"]}},
            "Additional properties not allowed: country' on property match",
        ),
        ({"connections": [uk["id"]]}, "Missing required property: name"),
        ({"name": "r", "connections": [uk["id"]], "position": -1}, "on property position"),
    ]
    for body, message in cases:
        assert_error(api.post("/phone/routes", body), 400, contains=message)
    assert not Route.objects.exists()

    route = create_route(api, "r", [uk])
    assert_error(
        api.patch(f"/phone/routes/{route['id']}", {"match": {"countries": ["ZZ"]}}),
        400,
        contains="'ZZ' is not a country code",
    )
    assert_error(api.patch(f"/phone/routes/{route['id']}", {}), 400, contains="Too few properties")


def test_bad_connection_input_is_a_400_naming_the_field(api):
    cases = [
        ({**twilio_body(), "kind": "sms"}, 'No enum match for: "sms"\' on property kind'),
        (twilio_body(sid="AC123"), "Account SID is AC followed by 32"),
        ({**twilio_body(), "credentials": {}}, "auth token is required"),
        (twilio_body(api_host="evil.example.com"), "is not a twilio.com host"),
        (
            twilio_body(colour="red"),
            "Additional properties not allowed: colour' on property configuration",
        ),
        ({**twilio_body(), "secret": 1}, "Additional properties not allowed: secret"),
        (
            {**twilio_body(), "name": 7},
            "'Expected type string but found type integer' on property name",
        ),
        (
            {**twilio_body(), "configuration": {"sid": TWILIO_SID}},
            "From number or a Messaging Service",
        ),
        (
            {
                "name": "v",
                "kind": "twilio_verify",
                "configuration": {"sid": TWILIO_SID, "service_sid": "VA1"},
                "credentials": {"auth_token": "t"},
            },
            "Verify Service SID is VA followed by 32",
        ),
    ]
    for body, message in cases:
        assert_error(api.post("/phone/connections", body), 400, contains=message)
    assert not Connection.objects.exists()


def test_unknown_ids_are_404_and_conflicts_are_409(api):
    for path in ("/phone/connections/pcn_nope", "/phone/routes/prt_nope"):
        assert_error(api.get(path), 404)
        assert_error(api.patch(path, {"name": "x"}), 404)
        assert_error(api.delete(path), 404)
    assert_error(api.post("/phone/connections/pcn_nope/try", {"to": "+447400123456"}), 404)

    connection = create_connection(api)
    assert_error(
        api.post("/phone/connections", twilio_body()), 409, contains="named 'uk' already exists"
    )
    other = create_connection(api, twilio_body("other"))
    assert_error(
        api.patch(f"/phone/connections/{other['id']}", {"name": "uk"}), 409, contains="'uk'"
    )
    create_route(api, "UK mobiles", [connection])
    refused = api.delete(f"/phone/connections/{connection['id']}")
    assert_error(refused, 409, contains="used by the rule 'UK mobiles'")
    assert Connection.objects.filter(public_id=connection["id"]).exists()


def _resolved_by_matcher(to, **context) -> str | None:
    subject = routing.Subject(to, **context)
    rule = routing.resolve(routing.rules_load(), subject)
    return rule.public_id if rule else None


def test_resolve_agrees_with_the_matcher_delivery_uses(api):
    uk, us, acme = (create_connection(api, twilio_body(n)) for n in ("uk", "us", "acme"))
    off = create_route(api, "Off", [acme], enabled=False)
    org = create_route(api, "Acme", [acme, uk], match={"organization_ids": ["org_acme"]})
    gb = create_route(api, "UK", [uk], match={"countries": ["GB"]})
    na = create_route(api, "North America", [us], match={"prefixes": ["+1"]})
    cases = [
        ({"to": "+447400123456"}, gb, {}),
        ({"to": "+14155550100"}, na, {}),
        (
            {"to": "+14155550100", "organization_id": "org_acme"},
            org,
            {"organization_id": "org_acme"},
        ),
        ({"to": "+33612345678"}, None, {}),
    ]
    for body, expected, context in cases:
        response = api.post("/phone/routes/resolve", body)
        assert response.status_code == 200, response.content
        answer = response.json()
        assert _resolved_by_matcher(body["to"], **context) == (expected and expected["id"])
        if expected is None:
            assert answer["route"] is None and answer["default_provider"] is True
            assert answer["connections"] == []
            assert answer["explanation"] == "No rule matches: the default provider sends."
        else:
            assert answer["route"] == api.get(f"/phone/routes/{expected['id']}").json()
            assert answer["default_provider"] is False
            assert [c["id"] for c in answer["connections"]] == expected["connections"]
    answer = api.post(
        "/phone/routes/resolve", {"to": "+14155550100", "organization_id": "org_acme"}
    ).json()
    assert answer["country"] == "US"
    assert answer["connections"] == [
        {"id": acme["id"], "name": "acme", "kind": "twilio"},
        {"id": uk["id"], "name": "uk", "kind": "twilio"},
    ]
    assert answer["explanation"] == "Rule 'Acme' matches: acme → uk."
    assert answer["skipped"] == [{"id": off["id"], "name": "Off", "reason": "the rule is disabled"}]
    uk_answer = api.post("/phone/routes/resolve", {"to": "+447400123456"}).json()
    assert uk_answer["country"] == "GB"
    assert uk_answer["skipped"][1] == {
        "id": org["id"],
        "name": "Acme",
        "reason": "organization (none) is not one of org_acme",
    }


def test_resolve_refuses_a_number_that_is_not_e164(api):
    assert_error(api.post("/phone/routes/resolve", {"to": "07400123456"}), 400, contains="E.164")
    assert_error(api.post("/phone/routes/resolve", {"to": "+44"}), 400)
    assert_error(
        api.post("/phone/routes/resolve", {}), 400, contains="Missing required property: to"
    )
    assert_error(
        api.post("/phone/routes/resolve", {"to": "+447400123456", "message_type": "fax"}), 400
    )


def test_try_queues_a_test_message_pinned_to_the_connection(
    api, monkeypatch, django_capture_on_commit_callbacks
):
    enqueued = []
    monkeypatch.setattr(queue, "message_enqueue", lambda pk, countdown=None: enqueued.append(pk))
    connection = create_connection(api)
    elsewhere = create_connection(api, twilio_body("elsewhere"))
    create_route(api, "UK", [elsewhere], match={"countries": ["GB"]})
    # No default provider and a rule elsewhere: the test still goes through this connection.
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            f"/phone/connections/{connection['id']}/try",
            {"to": "+447400123456", "delivery_method": "voice"},
        )
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["code"] == 202 and body["message_id"].startswith("msg_")
    message = PhoneMessage.objects.get(public_id=body["message_id"])
    assert message.pinned_connection.public_id == connection["id"]
    assert message.is_test and message.status == "queued"
    assert message.delivery_method == "voice" and message.recipient == "+447400123456"
    assert len(message.code) == 6 and message.code.isdigit()
    assert enqueued == [message.pk]
    assert api.get(f"/phone/messages/{message.public_id}").status_code == 200
    assert_error(
        api.post(f"/phone/connections/{connection['id']}/try", {"to": "12345"}),
        400,
        contains="E.164",
    )
    assert PhoneMessage.objects.count() == 1


@pytest.fixture
def staff(client, django_user_model):
    user = django_user_model.objects.create_user("ops", password="pw-staff-123", is_staff=True)
    client.force_login(user)
    return client


def test_resolve_and_the_which_route_box_agree(api, staff):
    uk, us = create_connection(api, twilio_body("uk")), create_connection(api, twilio_body("us"))
    create_route(api, "Voice", [us], match={"delivery_methods": ["voice"]})
    create_route(api, "Acme", [us, uk], match={"organization_ids": ["org_acme"]})
    create_route(api, "Signup", [uk], match={"message_types": ["otp_enroll"]})
    create_route(api, "UK", [uk], match={"countries": ["GB"]})
    asked = [
        {"to": "+447400123456"},
        {"to": "+447400123456", "delivery_method": "voice"},
        {"to": "+14155550100", "message_type": "otp_enroll"},
        {"to": "+14155550100", "organization_id": "org_acme", "client_id": "app1"},
        {"to": "+33612345678"},
    ]
    for body in asked:
        answer = api.post("/phone/routes/resolve", body).json()
        query = {("number" if k == "to" else k): v for k, v in body.items()}
        box = staff.get("/routing/which/", query).context["which"]["explanation"]
        assert answer["explanation"] == box.summary, body
        assert [(s["name"], s["reason"]) for s in answer["skipped"]] == [
            (rule.name, why) for rule, why in box.skipped
        ]


def test_a_question_without_type_or_method_asks_about_a_text_one_time_code(api, staff):
    uk = create_connection(api, twilio_body("uk"))
    create_route(api, "Codes by text", [uk], match={"message_types": ["otp_verify"]})
    create_route(api, "Calls", [uk], match={"delivery_methods": ["voice"]})
    answer = api.post("/phone/routes/resolve", {"to": "+14155550100"}).json()
    assert answer["route"]["name"] == "Codes by text"
    box = staff.get("/routing/which/", {"number": "+14155550100"}).context["which"]
    assert box["explanation"].rule.name == "Codes by text"
    assert (box["values"]["message_type"], box["values"]["delivery_method"]) == (
        "otp_verify",
        "text",
    )


def test_phone_config_carries_connections_and_rules_without_the_token(api, monkeypatch):
    uk = create_connection(api)
    create_route(api, "UK", [uk], match={"countries": ["GB"]})
    exported = api.get("/phone/config")
    assert TOKEN not in exported.content.decode()
    doc = exported.json()
    assert doc["phone_connections"]["uk"]["auth_token"] == "${CONNECTION_UK_AUTH_TOKEN}"
    assert doc["phone_routes"] == [
        {"name": "UK", "enabled": True, "match": {"countries": ["GB"]}, "connections": ["uk"]}
    ]
    monkeypatch.setenv("CONNECTION_UK_AUTH_TOKEN", TOKEN)
    doc["phone_routes"][0]["match"]["countries"] = ["GB", "IE"]
    applied = api.request("PUT", "/phone/config", doc)
    assert applied.status_code == 200, applied.content
    assert applied.json()["changes"] == ['~ phone_routes.UK.match.countries: ["GB"] → ["GB", "IE"]']
    assert api.get("/phone/routes").json()["routes"][0]["match"]["countries"] == ["GB", "IE"]


def test_a_messages_status_names_its_rule_and_each_attempts_connection(api):
    from phoneprovider.models import DeliveryAttempt
    from tests.factories import MessageFactory

    routed = MessageFactory(status="sent", route_name="UK", attempt_count=2, failed_over=True)
    DeliveryAttempt.objects.create(
        message=routed, number=1, provider_name="twilio", connection_name="uk", outcome="failed"
    )
    DeliveryAttempt.objects.create(
        message=routed, number=2, provider_name="twilio_verify", connection_name="uk-verify"
    )
    plain = MessageFactory(status="queued")
    body = api.get(f"/phone/messages/{routed.public_id}").json()
    assert body["route"] == "UK" and body["failed_over"] is True
    assert [(a["provider"], a["connection"]) for a in body["attempts"]] == [
        ("twilio", "uk"),
        ("twilio_verify", "uk-verify"),
    ]
    assert api.get(f"/phone/messages/{plain.public_id}").json()["route"] is None
