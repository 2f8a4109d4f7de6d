"""The pure rules of webhooks: receiver URLs, which addresses are refused, backoff."""

from __future__ import annotations

import pytest

from capital_app.domain import webhooks as rules
from capital_app.domain.errors import InvalidInput


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "::1",
        "fe80::1%eth0",
        "fc00::1",
        "::ffff:10.0.0.1",
        "::ffff:127.0.0.1",
    ],
)
def test_non_public_addresses_are_refused(address):
    assert not rules.is_public_address(address)
    assert rules.refused_address(["93.184.215.14", address]) == address


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_pass(address):
    assert rules.is_public_address(address)
    assert rules.refused_address([address]) is None


def test_urls_must_be_https_unless_http_is_allowed():
    assert rules.check_url(" https://erp.example.com/h ", allow_http=False) == (
        "https://erp.example.com/h",
        "erp.example.com",
    )
    with pytest.raises(InvalidInput):
        rules.check_url("http://erp.example.com/h", allow_http=False)
    assert rules.check_url("http://erp.example.com/h", allow_http=True)[1] == "erp.example.com"
    for bad in ("", "ftp://x.example/", "https://", "https://u:p@x.example/", "https://x:99999/"):
        with pytest.raises(InvalidInput):
            rules.check_url(bad, allow_http=True)


def test_event_types_default_to_all_and_unknown_ones_are_refused():
    assert rules.check_event_types(None) == list(rules.ALL_EVENT_TYPES)
    assert rules.check_event_types(["source.removed", "source.added"]) == [
        "source.added",
        "source.removed",
    ]
    for bad in ([], ["source.exploded"], "source.added"):
        with pytest.raises(InvalidInput):
            rules.check_event_types(bad)


def test_backoff_doubles_up_to_its_cap():
    assert [rules.backoff_seconds(n, 5, 60) for n in range(1, 7)] == [5, 10, 20, 40, 60, 60]
