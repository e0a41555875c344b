"""The client's address, the same way for throttling, login lockout and the audit trail."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """REMOTE_ADDR, or behind `NUM_PROXIES` trusted proxies the address the outermost of them saw.

    As DRF's throttles do with the same setting: a client cannot choose its
    address by sending its own X-Forwarded-For, since only the entries our
    proxies appended are believed. Anything that is not an IP address is None.
    """
    address = request.META.get("REMOTE_ADDR")
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    proxies = settings.NUM_PROXIES
    if proxies and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",")]
        address = hops[-min(proxies, len(hops))]
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None
