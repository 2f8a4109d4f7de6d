"""Which address login throttling counts, with and without trusted reverse proxies."""

from capital_app.api.deps import address_behind_proxies


def test_without_trusted_proxies_the_peer_counts_and_forwarded_for_is_ignored() -> None:
    assert address_behind_proxies("10.0.0.5", "203.0.113.9", 0) == "10.0.0.5"


def test_one_trusted_proxy_names_the_client_it_saw() -> None:
    assert address_behind_proxies("10.0.0.5", "203.0.113.9", 1) == "203.0.113.9"


def test_a_client_cannot_forge_its_address_to_the_left_of_the_proxy() -> None:
    # The client sent "X-Forwarded-For: 198.51.100.1"; our one proxy appended the real peer.
    assert address_behind_proxies("10.0.0.5", "198.51.100.1, 203.0.113.9", 1) == "203.0.113.9"


def test_two_trusted_proxies_take_the_second_entry_from_the_right() -> None:
    chain = "198.51.100.1, 203.0.113.9, 10.0.0.7"
    assert address_behind_proxies("10.0.0.5", chain, 2) == "203.0.113.9"


def test_a_shorter_chain_than_trusted_falls_back_to_the_peer() -> None:
    assert address_behind_proxies("10.0.0.5", "", 1) == "10.0.0.5"
    assert address_behind_proxies("10.0.0.5", "203.0.113.9", 2) == "10.0.0.5"
