"""The outbound client and its address guard.

Guard tests look at addresses only (nothing is connected to). Tests that send allow only
127.0.0.1/32 and use 127.0.0.2 as the refused target.
"""

from __future__ import annotations

import asyncio
import base64

import pytest

from phoneprovider import net as http
from phoneprovider.net import (
    BlockedAddressError,
    HttpPolicy,
    OutboundClient,
    OutboundTimeoutError,
    ResponseTooLargeError,
    TooManyRedirectsError,
    blocked_reason,
    check_address,
    outbound_request,
    resolve_checked,
)
from tests.runtime.conftest import Loopback

ALLOW_LOOPBACK = ["127.0.0.1/32"]

REFUSED = {
    "127.0.0.1": "loopback",
    "127.9.9.9": "loopback",
    "::1": "loopback",
    "10.0.0.5": "private",
    "172.16.3.4": "private",
    "192.168.1.1": "private",
    "169.254.169.254": "metadata",
    "169.254.10.10": "link-local",
    "fe80::1": "link-local",
    "fd00::1": "private",
    "fd00:ec2::254": "metadata",
    "fc00::2": "private",
    "0.0.0.0": "unspecified",  # noqa: S104 - an address under test, nothing binds it
    "::": "unspecified",
    "::ffff:127.0.0.1": "loopback",
    "::ffff:10.1.2.3": "private",
    "::ffff:169.254.169.254": "metadata",
    "64:ff9b::a00:1": "private",
    "2002:c0a8:0101::1": "private",
    "100.64.0.1": "shared",
    "100.100.100.200": "metadata",
    "224.0.0.1": "multicast",
    "ff02::1": "multicast",
    "240.0.0.1": "private",
    "255.255.255.255": "private",
    "198.18.0.1": "private",
}


@pytest.mark.parametrize("address", list(REFUSED))
def test_the_guard_refuses_non_public_addresses(address):
    reason = blocked_reason(address)
    assert reason is not None
    assert REFUSED[address] in reason
    with pytest.raises(BlockedAddressError):
        check_address(address)


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "93.184.216.34"]
)
def test_the_guard_lets_public_addresses_through(address):
    assert blocked_reason(address) is None
    check_address(address)


def test_allowed_networks_are_exempt():
    check_address("127.0.0.1", ALLOW_LOOPBACK)
    check_address("::ffff:127.0.0.1", ALLOW_LOOPBACK)
    check_address("10.1.2.3", ["10.0.0.0/8"])
    with pytest.raises(BlockedAddressError):
        check_address("127.0.0.2", ALLOW_LOOPBACK)
    with pytest.raises(BlockedAddressError):
        check_address("169.254.169.254", ["10.0.0.0/8"])


def test_a_bad_allowed_network_fails_loudly():
    with pytest.raises(ValueError):
        HttpPolicy(allowed_networks=["not-a-cidr"])


def test_host_names_are_checked_on_every_resolved_address():
    def resolver(host, port):
        return {
            "evil.test": ["10.0.0.1", "169.254.169.254"],
            "mixed.test": ["10.0.0.1", "8.8.8.8"],
            "good.test": ["8.8.4.4"],
        }[host]

    with pytest.raises(BlockedAddressError) as err:
        resolve_checked("evil.test", 443, resolver=resolver)
    assert "evil.test resolves to a refused address" in str(err.value)
    # Only the addresses that pass are used (the connection is pinned to them).
    assert resolve_checked("mixed.test", 443, resolver=resolver) == ["8.8.8.8"]
    assert resolve_checked("good.test", 443, resolver=resolver) == ["8.8.4.4"]
    assert resolve_checked("[::ffff:8.8.8.8]", 443) == ["::ffff:808:808"]


@pytest.fixture(scope="module")
def allowed():
    server = Loopback("127.0.0.1")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def refused():
    server = Loopback("127.0.0.2")
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _clean(allowed, refused):
    for s in (allowed, refused):
        s.received.clear()
        s.routes.clear()


def test_sync_request_reaches_an_allowed_address(allowed):
    allowed.route("/2010-04-01/Accounts/AC1/Messages.json", status=201, json={"sid": "SM1"})
    response = outbound_request(
        "POST",
        allowed.url("/2010-04-01/Accounts/AC1/Messages.json"),
        data={"To": "+15555550123", "Body": "hi there"},
        auth=("AC1", "tok"),
        timeout=5,
        allowed_networks=ALLOW_LOOPBACK,
    )
    assert response.status_code == 201
    assert response.json_or_none() == {"sid": "SM1"}
    [req] = allowed.received
    assert req.header("Authorization") == "Basic " + base64.b64encode(b"AC1:tok").decode()
    assert req.body == b"To=%2B15555550123&Body=hi+there"


def test_sync_request_to_a_refused_address_never_connects(refused):
    with pytest.raises(BlockedAddressError) as err:
        outbound_request("GET", refused.url("/"), allowed_networks=ALLOW_LOOPBACK)
    assert err.value.transient is False
    assert refused.received == []


def test_a_host_name_resolving_to_a_refused_address_is_blocked_at_connect_time(refused):
    calls = []

    def resolver(host, port):
        calls.append(host)
        return ["127.0.0.2"]

    with pytest.raises(BlockedAddressError):
        outbound_request(
            "GET",
            f"http://rebind.test:{refused.port}/",
            resolver=resolver,
            allowed_networks=ALLOW_LOOPBACK,
        )
    assert calls == ["rebind.test"]
    assert refused.received == []


def test_the_connection_is_pinned_to_the_checked_address(allowed):
    # The name resolves (once, here) to the allowed address; the request goes there with the
    # original Host header.
    response = outbound_request(
        "GET",
        f"http://pinned.test:{allowed.port}/p",
        resolver=lambda h, p: ["127.0.0.1"],
        allowed_networks=ALLOW_LOOPBACK,
    )
    assert response.status_code == 200
    assert allowed.received[0].header("Host") == f"pinned.test:{allowed.port}"


def test_every_redirect_is_checked_again(allowed, refused):
    allowed.route("/go", status=302, headers={"Location": refused.url("/inside")})
    with pytest.raises(BlockedAddressError):
        outbound_request("GET", allowed.url("/go"), allowed_networks=ALLOW_LOOPBACK)
    assert refused.received == []
    allowed.route("/loop", status=301, headers={"Location": "/loop"})
    with pytest.raises(TooManyRedirectsError):
        outbound_request("GET", allowed.url("/loop"), allowed_networks=ALLOW_LOOPBACK)


def test_redirects_drop_credentials_across_origins_and_turn_post_into_get(allowed):
    allowed.route("/a", status=302, headers={"Location": "/b"})
    allowed.route("/b", status=200, json={"ok": True})
    response = outbound_request(
        "POST",
        allowed.url("/a"),
        data={"x": "1"},
        headers={"Authorization": "Bearer t"},
        allowed_networks=ALLOW_LOOPBACK,
    )
    assert response.status_code == 200 and response.redirected
    first, second = allowed.received
    assert (first.method, second.method) == ("POST", "GET")
    assert second.body == b""
    assert second.header("Authorization") == "Bearer t"  # same origin keeps it


def test_response_size_and_time_are_bounded(allowed):
    allowed.route("/big", stream_bytes=3 * 1024 * 1024)
    with pytest.raises(ResponseTooLargeError):
        outbound_request(
            "GET",
            allowed.url("/big"),
            policy=HttpPolicy(allowed_networks=ALLOW_LOOPBACK, max_response_bytes=1024 * 1024),
        )
    allowed.route("/slow", delay_s=2)
    with pytest.raises(OutboundTimeoutError) as err:
        outbound_request("GET", allowed.url("/slow"), timeout=0.3, allowed_networks=ALLOW_LOOPBACK)
    assert err.value.transient is True


def test_only_http_and_https_urls():
    with pytest.raises(http.InvalidURLError):
        outbound_request("GET", "file:///etc/passwd")
    with pytest.raises(http.InvalidURLError):
        outbound_request("GET", "ftp://example.com/")


def test_async_client_applies_the_same_rules(allowed, refused):
    allowed.route("/ok", status=200, json={"a": 1})
    policy = HttpPolicy(allowed_networks=ALLOW_LOOPBACK, timeout_s=5)

    async def go():
        client = OutboundClient(ALLOW_LOOPBACK)
        try:
            ok = await client.request("GET", allowed.url("/ok"), policy=policy)
            with pytest.raises(BlockedAddressError):
                await client.request("GET", refused.url("/no"), policy=policy)
            allowed.route("/hop", status=307, headers={"Location": refused.url("/no")})
            with pytest.raises(BlockedAddressError):
                await client.request("POST", allowed.url("/hop"), content=b"x", policy=policy)
            manual = await client.request(
                "GET", allowed.url("/hop"), policy=policy, redirect="manual"
            )
            return ok, manual
        finally:
            await client.aclose()

    ok, manual = asyncio.run(go())
    assert ok.json_or_none() == {"a": 1}
    assert manual.status_code == 307
    assert refused.received == []
