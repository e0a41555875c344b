from django.contrib.admin.apps import AdminConfig


class ClinicAdminConfig(AdminConfig):
    """django.contrib.admin with the clinic's site as `admin.site`: every app's admin.py registers on it."""

    default_site = "dashboard.sites.ClinicAdminSite"
