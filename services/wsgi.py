import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

from services.runtime import freeze_startup_heap

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "services.settings.local")

application = get_wsgi_application()
# The URLconf (views, serializers, admin) is loaded now rather than by the first request: it is part
# of the start-up heap frozen next.
get_resolver().url_patterns  # noqa: B018
freeze_startup_heap()
