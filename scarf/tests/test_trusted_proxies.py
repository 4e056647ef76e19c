"""The client's address behind proxies (scarf/proxies.py): only what our own
proxies wrote is believed."""

import pytest

from scarf.proxies import client_address, parse_networks

EDGE = parse_networks(["127.0.0.1/32"])
EDGE_BEHIND_A_BALANCER = parse_networks(["127.0.0.1/32", "10.0.0.0/8"])


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "networks", "client"),
    [
        ("198.51.100.7", "", EDGE, "198.51.100.7"),
        ("198.51.100.7", "192.0.2.66", EDGE, "198.51.100.7"),  # not a proxy of ours
        ("127.0.0.1", "198.51.100.7", EDGE, "198.51.100.7"),  # Caddy replaces the field
        ("127.0.0.1", "192.0.2.66, 198.51.100.7", EDGE, "198.51.100.7"),  # a proxy appends
        ("127.0.0.1", "192.0.2.66, 10.0.0.4", EDGE, "10.0.0.4"),  # 10/8 not trusted here
        ("127.0.0.1", "192.0.2.66, 198.51.100.7, 10.0.0.4", EDGE_BEHIND_A_BALANCER, "198.51.100.7"),
        ("127.0.0.1", "not-an-address, 10.0.0.4", EDGE_BEHIND_A_BALANCER, "10.0.0.4"),
        ("127.0.0.1", "", EDGE, "127.0.0.1"),  # the edge's own request
        ("127.0.0.1", "2001:db8::7", EDGE, "2001:db8::7"),
        ("127.0.0.1", "198.51.100.7", (), "127.0.0.1"),  # no TRUSTED_PROXIES: believe nobody
    ],
)
def test_the_client_is_the_nearest_address_not_one_of_our_proxies(
    peer, forwarded_for, networks, client
):
    assert client_address(peer, forwarded_for, networks) == client
