"""The clinic's admin site: the home page is the red-flag worklist; the app list follows below it."""

from __future__ import annotations

from django.contrib import admin
from django.urls import path

from . import views


class ClinicAdminSite(admin.AdminSite):
    site_header = "Foot-drop triage · clinic"
    site_title = "Foot-drop triage"
    index_title = "Today"
    index_template = "admin/dashboard/index.html"

    def get_urls(self):
        acknowledge = self.admin_view(views.escalation_acknowledge_view)
        return [
            path("dashboard/escalations/<uuid:escalation_id>/acknowledge/", acknowledge,
                 name="dashboard_escalation_acknowledge"),
            *super().get_urls(),
        ]

    def index(self, request, extra_context=None):
        return super().index(request, extra_context={**views.home_context(request), **(extra_context or {})})
