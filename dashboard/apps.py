from django.apps import AppConfig


class DashboardConfig(AppConfig):
    """The clinic staff's admin: its site (dashboard.sites), home page, templates and styles."""

    name = "dashboard"
    verbose_name = "Clinic dashboard"
