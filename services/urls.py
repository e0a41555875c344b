from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from common.bench import BenchProbeView
from common.health import healthz, readyz

api_v1 = [
    path("", include("accounts.api.urls")),
    path("", include("patients.api.urls")),
    path("", include("triage.api.urls")),
    path("", include("referrals.api.urls")),
    path("", include("notifications.api.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
]
if settings.BENCH_ENDPOINTS:  # the floor of bench/intake, never routed in production
    api_v1.append(path("bench/probe/", BenchProbeView.as_view(), name="bench-probe"))

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("api/v1/", include(api_v1)),
    path("admin/", admin.site.urls),
]

# Under /api/ even Django's own error pages are problem details (common/errors_http.py).
handler400 = "common.errors_http.bad_request"
handler403 = "common.errors_http.permission_denied"
handler404 = "common.errors_http.not_found"
handler500 = "common.errors_http.server_error"
