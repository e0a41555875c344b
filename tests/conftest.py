import pytest
from django.core.cache import cache
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import Role
from accounts.selectors import clinic_default
from common import kept

from .factories import PatientFactory, UserFactory
from .worker import WorkerProcess, purge_broker


@pytest.fixture(autouse=True)
def _nothing_kept_from_another_test():
    """What the service keeps a few seconds (list counts, the dashboard's activity) never outlives a test."""
    cache.clear()
    yield
    cache.clear()


class _CacheDown:
    def get(self, *args, **kwargs):
        raise ConnectionError("cache unreachable")

    set = get


@pytest.fixture
def cache_down(monkeypatch):
    """The cache that keeps counts and figures a few seconds (common/kept.py) refuses every call."""
    monkeypatch.setattr(kept, "cache", _CacheDown())


@pytest.fixture
def clinic(db):
    return clinic_default()


@pytest.fixture
def staff(clinic):
    return UserFactory(role=Role.STAFF, clinic=clinic)


@pytest.fixture
def clinician(clinic):
    return UserFactory(role=Role.CLINICIAN, clinic=clinic)


@pytest.fixture
def superuser(clinic):
    return UserFactory(role=Role.STAFF, clinic=clinic, is_superuser=True, is_staff=True)


@pytest.fixture
def patient(clinic):
    return PatientFactory(clinic=clinic)


@pytest.fixture
def patient_user(clinic):
    """A patient who registered from the app: a login with its own record."""
    user = UserFactory(role=Role.PATIENT, clinic=clinic)
    PatientFactory(clinic=clinic, user=user)
    return user


def bearer_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


@pytest.fixture
def api_as():
    """api_as(user) -> an API client carrying that user's real JWT."""
    return bearer_client


@pytest.fixture
def anonymous_api():
    return APIClient()


@pytest.fixture(scope="session", autouse=True)
def broker_keys_removed_at_the_end():
    """The run's queues, bindings and unacknowledged messages go with it: the test database of Redis keeps no runs."""
    yield
    purge_broker()


@pytest.fixture(scope="module")
def worker_env():
    """Environment of the module's Celery worker; override in a module to configure it."""
    return {}


@pytest.fixture(scope="module")
def celery_worker(django_db_setup, django_db_blocker, worker_env):
    """A real Celery worker subprocess for the module's integration tests (use transactional_db)."""
    with django_db_blocker.unblock():
        purge_broker()
        worker = WorkerProcess(env=worker_env).start()
    yield worker
    worker.stop()
