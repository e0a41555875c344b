"""Writes of the accounts domain."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Q

from common.errors import ApplicationError

from .models import Role, User
from .roles import GROUP_OF_ROLE, PERMISSIONS_OF_GROUP


@transaction.atomic
def user_set_role(*, user: User, role: str) -> User:
    """Give a user a role: clinicians and clinic staff join their group and may sign in to the admin.

    Any other role leaves both clinical groups and (unless a superuser) loses admin access.
    """
    if role not in Role.values:
        raise ApplicationError(f"Unknown role {role!r}; one of {', '.join(Role.values)}.", field="role")
    groups = clinical_groups()
    user.role = role
    if role in GROUP_OF_ROLE:
        user.is_staff = True
    elif not user.is_superuser:
        user.is_staff = False
    user.save(update_fields=["role", "is_staff"])
    user.groups.remove(*[group for name, group in groups.items() if name != GROUP_OF_ROLE.get(role)])
    if role in GROUP_OF_ROLE:
        user.groups.add(groups[GROUP_OF_ROLE[role]])
    return user


def clinical_groups() -> dict[str, Group]:
    """The two groups by name; made with their permissions if missing (migration 0003 makes them too)."""
    groups = {}
    for name, permissions in PERMISSIONS_OF_GROUP.items():
        group, created = Group.objects.get_or_create(name=name)
        if created:
            group.permissions.set(_permissions(permissions))
        groups[name] = group
    return groups


def _permissions(labels: tuple[str, ...]) -> list[Permission]:
    match = Q(pk__in=[])
    for label in labels:
        app_label, codename = label.split(".")
        match |= Q(content_type__app_label=app_label, codename=codename)
    return list(Permission.objects.filter(match))
