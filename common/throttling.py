"""DRF's throttles, reading their rates from the settings at each request.

DRF's own classes copy `DEFAULT_THROTTLE_RATES` once at import, so a changed
setting (an override in a test, a reloaded configuration) would go unseen.
"""

from rest_framework import throttling
from rest_framework.settings import api_settings


class SettingsRatesMixin:
    @property
    def THROTTLE_RATES(self) -> dict:  # DRF's attribute name
        return api_settings.DEFAULT_THROTTLE_RATES


class AnonRateThrottle(SettingsRatesMixin, throttling.AnonRateThrottle):
    """Per client IP, for requests without a valid token."""


class UserRateThrottle(SettingsRatesMixin, throttling.UserRateThrottle):
    """Per user (per IP for anonymous requests)."""


class ScopedRateThrottle(SettingsRatesMixin, throttling.ScopedRateThrottle):
    """Per view scope (`throttle_scope`), per user or, anonymous, per IP."""
