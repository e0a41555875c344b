"""Roles in the admin: two groups made by a migration, joined through accounts.actions.user_set_role."""

import pytest
from django.contrib.auth.models import Group

from accounts.actions import user_set_role
from accounts.models import Role, User
from accounts.roles import CLINIC_STAFF, CLINICIAN_PERMISSIONS, CLINICIANS, STAFF_PERMISSIONS
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def permissions_of(group_name: str) -> set[str]:
    group = Group.objects.get(name=group_name)
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}


def test_the_migration_made_both_groups_with_the_permissions_of_the_roles():
    assert permissions_of(CLINICIANS) == set(CLINICIAN_PERMISSIONS)
    assert permissions_of(CLINIC_STAFF) == set(STAFF_PERMISSIONS)


def test_a_role_puts_the_user_in_its_group_and_into_the_admin(clinic):
    user = UserFactory(role=Role.PATIENT, clinic=clinic)

    user_set_role(user=user, role=Role.STAFF)
    assert (user.is_staff, [g.name for g in user.groups.all()]) == (True, [CLINIC_STAFF])
    assert user.has_perm("notifications.add_oncallcontact") and user.has_perm("referrals.change_referral")

    user = User.objects.get(pk=user.pk)  # permissions are cached per instance
    user_set_role(user=user, role=Role.CLINICIAN)
    assert [g.name for g in user.groups.all()] == [CLINICIANS]
    assert user.has_perm("notifications.change_escalation") and not user.has_perm("notifications.view_oncallcontact")

    user = User.objects.get(pk=user.pk)
    user_set_role(user=user, role=Role.PATIENT)
    assert (user.is_staff, list(user.groups.all())) == (False, [])


def test_a_user_added_in_the_admin_with_a_role_joins_its_group(client, superuser, clinic):
    client.force_login(superuser)

    response = client.post("/admin/accounts/user/add/", {
        "username": "nurse.rosa", "password1": PASSWORD, "password2": PASSWORD, "usable_password": "true",
        "role": Role.CLINICIAN, "clinic": clinic.pk,
    })

    assert response.status_code == 302, response.content.decode()[:2000]
    user = User.objects.get(username="nurse.rosa")
    assert user.is_staff and [g.name for g in user.groups.all()] == [CLINICIANS]


def test_clinic_staff_see_their_clinics_users_and_cannot_change_them(client, desk, elsewhere):
    stranger = UserFactory(role=Role.STAFF, clinic=elsewhere.clinic, username="stranger")
    client.force_login(desk)

    page = client.get("/admin/accounts/user/").content.decode()

    assert desk.username in page and "stranger" not in page
    assert client.get(f"/admin/accounts/user/{stranger.pk}/change/").status_code == 302
    assert client.post(f"/admin/accounts/user/{desk.pk}/change/", {"username": "x"}).status_code == 403


def test_unknown_roles_are_refused(clinic):
    from common.errors import ApplicationError

    with pytest.raises(ApplicationError):
        user_set_role(user=UserFactory(clinic=clinic), role="admin")
