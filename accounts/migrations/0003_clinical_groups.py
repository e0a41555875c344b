"""The groups "Clinicians" and "Clinic staff" with the model permissions the API gives each role.

The permissions are written out here (not imported) so that this migration
does what it did when it was written; accounts/roles.py is the live list and
tests/dashboard/test_roles.py checks that the two agree. Existing clinicians
and staff join their group and may sign in to the admin.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations
from django.db.models import Q

CLINICIANS = "Clinicians"
CLINIC_STAFF = "Clinic staff"

CLINICIAN_PERMISSIONS = [
    "patients.view_patient",
    "triage.view_assessment", "triage.view_evaluation", "triage.change_evaluation",
    "referrals.view_referral", "referrals.change_referral", "referrals.view_referralevent",
    "notifications.view_escalation", "notifications.change_escalation", "notifications.view_escalationevent",
    "notifications.view_notification",
]
STAFF_PERMISSIONS = [
    *CLINICIAN_PERMISSIONS,
    "notifications.view_oncallcontact", "notifications.add_oncallcontact", "notifications.change_oncallcontact",
    "notifications.delete_oncallcontact", "notifications.change_notification", "notifications.view_deliveryattempt",
    "referrals.view_partner", "referrals.add_partner", "referrals.change_partner",
    "referrals.view_partnerwebhookevent", "referrals.change_partnerwebhookevent",
    "referrals.view_webhookdelivery", "referrals.change_webhookdelivery", "referrals.view_webhookdeliveryattempt",
    "accounts.view_user",
]
GROUPS = {"clinician": (CLINICIANS, CLINICIAN_PERMISSIONS), "staff": (CLINIC_STAFF, STAFF_PERMISSIONS)}


def create_groups(apps, schema_editor):
    # On a fresh database permissions are made after all migrations (post_migrate): make them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0, using=schema_editor.connection.alias)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    User = apps.get_model("accounts", "User")
    for role, (name, labels) in GROUPS.items():
        match = Q(pk__in=[])
        for label in labels:
            app_label, codename = label.split(".")
            match |= Q(content_type__app_label=app_label, codename=codename)
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set(Permission.objects.filter(match))
        members = User.objects.filter(role=role)
        members.update(is_staff=True)
        for user in members:
            user.groups.add(group)


def delete_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=[CLINICIANS, CLINIC_STAFF]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_default_clinic"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("patients", "0001_initial"),
        ("triage", "0001_initial"),
        ("referrals", "0003_clock_started_at_required"),
        ("notifications", "0002_notifications_and_events"),
    ]

    operations = [migrations.RunPython(create_groups, delete_groups)]
