import pytest
from django.core.cache import cache


@pytest.fixture
def throttle_rates(settings):
    """throttle_rates(auth="3/min", ...): real rates for the scopes named, the test settings' for the others."""
    cache.clear()

    def set_rates(**rates: str) -> None:
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **rates},
        }

    yield set_rates
    cache.clear()


@pytest.fixture
def lockout(settings):
    """django-axes on, as in production, with a small failure limit."""
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 3
    return settings
