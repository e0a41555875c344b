"""A URLconf for tests/common/test_object_urls.py: one key of each kind of converter."""

from django.http import HttpResponse
from django.urls import path


def page(request, **kwargs):
    return HttpResponse()


urlpatterns = [
    path("things/<path:key>/", page, name="thing"),
    path("numbered/<int:number>/", page, name="numbered"),
]
