"""One client address for throttling, lockout and the audit trail; a client cannot choose it."""

import pytest
from django.test import RequestFactory

from common.client_ip import client_ip


def request(remote: str = "192.0.2.1", forwarded: str | None = None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


def test_without_proxies_the_address_is_the_peer_whatever_the_header_says(settings):
    settings.NUM_PROXIES = 0

    assert client_ip(request(forwarded="203.0.113.9")) == "192.0.2.1"


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (1, "198.51.100.4", "198.51.100.4"),
        (1, "203.0.113.9, 198.51.100.4", "198.51.100.4"),  # the client prepended its own entry: ignored
        (2, "203.0.113.9, 198.51.100.4, 10.0.0.2", "198.51.100.4"),
    ],
)
def test_behind_proxies_only_their_entries_are_believed(settings, proxies, forwarded, expected):
    settings.NUM_PROXIES = proxies

    assert client_ip(request(remote="10.0.0.3", forwarded=forwarded)) == expected


def test_anything_but_an_ip_address_is_none(settings):
    settings.NUM_PROXIES = 1

    assert client_ip(request(forwarded="'; DROP TABLE --")) is None
