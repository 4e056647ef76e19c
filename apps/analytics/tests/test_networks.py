"""Networks from ip-location-db's asn ranges (apps/analytics/networks.py)."""

import ipaddress

import pytest

from apps.analytics.networks import NetworkRanges


def number(address: str) -> int:
    return int(ipaddress.ip_address(address))


@pytest.fixture
def ranges(tmp_path):
    (tmp_path / "ipv4.csv").write_text(
        f'{number("1.0.0.0")},{number("1.0.0.255")},13335,"Cloudflare, Inc."\n'
        f"{number('8.8.4.0')},{number('8.8.8.255')},15169,Google LLC\n"
        f"{number('8.8.9.0')},{number('8.8.9.0')},64500,Example Net\n"
    )
    (tmp_path / "ipv6.csv").write_text(
        f"{number('2606:4700::')},{number('2606:4700:ffff:ffff:ffff:ffff:ffff:ffff')},"
        '13335,"Cloudflare, Inc."\n'
    )
    return NetworkRanges.load(tmp_path)


@pytest.mark.parametrize(
    ("address", "organisation"),
    [
        ("1.0.0.0", "Cloudflare, Inc."),  # first address of a range
        ("1.0.0.255", "Cloudflare, Inc."),  # last
        ("1.0.1.0", ""),  # just past it, in a gap
        ("8.8.8.8", "Google LLC"),
        ("8.8.9.0", "Example Net"),  # a range of one address
        ("0.0.0.1", ""),  # before the first range
        ("255.255.255.255", ""),  # after the last
        ("::ffff:8.8.8.8", "Google LLC"),  # IPv4-mapped IPv6 is IPv4
        ("2606:4700:4700::1111", "Cloudflare, Inc."),
        ("2001:db8::1", ""),
        ("", ""),
        ("not an address", ""),
        ("8.8.8", ""),
        ("8.8.8.8\x00", ""),
        ("\x00", ""),
    ],
)
def test_an_address_gets_the_organisation_of_its_range(ranges, address, organisation):
    assert ranges.organisation(address) == organisation


@pytest.mark.parametrize(
    ("address", "organisation", "whole_network"),
    [
        ("1.0.0.7", "Cloudflare, Inc.", True),  # its range is the whole /24
        ("8.8.8.8", "Google LLC", True),  # within a larger range
        ("8.8.9.0", "Example Net", False),  # a range of one address
        ("8.8.9.1", "", False),  # a gap beside it in the same /24
        ("1.0.1.5", "", True),  # a gap holding the whole /24
        ("0.0.0.1", "", True),
        ("::ffff:8.8.8.8", "Google LLC", True),
        ("2606:4700:4700::1111", "Cloudflare, Inc.", False),  # IPv6: never
        ("not an address", "", False),
        ("1.0.0.7\x00", "", False),
    ],
)
def test_an_address_says_whether_its_slash_24_shares_its_organisation(
    ranges, address, organisation, whole_network
):
    assert ranges.organisation_of_network(address) == (organisation, whole_network)


def test_files_that_are_not_sorted_ranges_are_refused(tmp_path):
    (tmp_path / "ipv6.csv").write_text("")
    (tmp_path / "ipv4.csv").write_text("20,30,1,B\n10,15,2,A\n")
    with pytest.raises(ValueError, match="ipv4.csv:2: ranges must be sorted"):
        NetworkRanges.load(tmp_path)

    (tmp_path / "ipv4.csv").write_text("first,last,asn,name\n")
    with pytest.raises(ValueError, match="ipv4.csv:1: not a range"):
        NetworkRanges.load(tmp_path)


def test_a_missing_file_is_an_error(tmp_path):
    (tmp_path / "ipv4.csv").write_text("")
    with pytest.raises(FileNotFoundError, match="ipv6.csv"):
        NetworkRanges.load(tmp_path)


def test_check_reads_only_what_it_needs_to_say_the_files_are_ranges(tmp_path):
    (tmp_path / "ipv4.csv").write_text("10,15,2,A\n")
    (tmp_path / "ipv6.csv").write_text("")
    NetworkRanges.check(tmp_path)  # no error

    (tmp_path / "ipv4.csv").write_text("first,last,asn,name\n")
    with pytest.raises(ValueError, match="ipv4.csv:1: not a range"):
        NetworkRanges.check(tmp_path)
    (tmp_path / "ipv4.csv").write_text("10,15,2,A\n")
    (tmp_path / "ipv6.csv").unlink()
    with pytest.raises(FileNotFoundError, match="ipv6.csv"):
        NetworkRanges.check(tmp_path)
