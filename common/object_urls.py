"""The URL of one object's page, many times over, without resolving the URL pattern once per object.

`reverse()` walks the URL resolver and checks the result against the
pattern's converters: about a twentieth of a millisecond each time. A
worklist or a board of a few hundred rows, with two or three links per row,
spent a tenth of its rendering there. `object_url` reverses each URL name once
per URLconf with a stand-in key and puts each object's key in its place.
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import quote

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils.http import RFC3986_SUBDELIMS

# A valid key for the converters our object URLs use (`path`, `str`, `uuid`); it never occurs in a prefix.
STAND_IN_KEY = "ffffffff-ffff-4fff-bfff-ffffffffffff"
SAFE = RFC3986_SUBDELIMS + "/~:@"  # what `reverse()` leaves unquoted in an argument


def object_url(viewname: str, key: object, *, current_app: str | None = None) -> str:
    """`reverse(viewname, args=[key])`, the same string, for a URL name taking one key (a key its pattern accepts)."""
    template = _url_with_stand_in(viewname, current_app, get_urlconf(), get_script_prefix())
    if template is None:  # this pattern's converter refuses the stand-in (an int key, say): resolve it each time
        return reverse(viewname, args=[key], current_app=current_app)
    return template.replace(STAND_IN_KEY, quote(str(key), safe=SAFE))


@lru_cache(maxsize=256)
def _url_with_stand_in(viewname: str, current_app: str | None, urlconf: str | None, prefix: str) -> str | None:
    try:
        url = reverse(viewname, args=[STAND_IN_KEY], current_app=current_app)
    except NoReverseMatch:
        return None
    return url if url.count(STAND_IN_KEY) == 1 else None


@receiver(setting_changed)
def _forget_on_urlconf_change(*, setting: str, **kwargs) -> None:
    if setting == "ROOT_URLCONF":
        _url_with_stand_in.cache_clear()
