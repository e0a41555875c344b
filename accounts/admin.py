from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from simple_history.admin import SimpleHistoryAdmin

from .actions import user_set_role
from .models import Clinic, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin, SimpleHistoryAdmin):
    list_display = ["username", "first_name", "last_name", "role", "clinic", "is_active"]
    list_filter = ["role", ("clinic", admin.RelatedOnlyFieldListFilter), "is_active", "is_staff"]
    list_select_related = ["clinic"]
    fieldsets = (*DjangoUserAdmin.fieldsets, ("Role", {"fields": ("role", "clinic"),
                 "description": "Clinicians and clinic staff join their group and may sign in here."}))
    add_fieldsets = (*DjangoUserAdmin.add_fieldsets, ("Role", {"fields": ("role", "clinic")}))

    def get_queryset(self, request):
        users = super().get_queryset(request)
        if request.user.is_superuser:
            return users
        return users.filter(clinic_id=request.user.clinic_id) if request.user.clinic_id else users.none()

    def save_related(self, request, form, formsets, change):
        # After the form's groups are saved, so that the role's group is not undone by them.
        super().save_related(request, form, formsets, change)
        user_set_role(user=form.instance, role=form.instance.role)


@admin.register(Clinic)
class ClinicAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
