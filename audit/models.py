"""The audit trail: who read or changed which patient's data, when and from where.

Rows are only ever inserted. The model refuses updates and deletes in Python,
and on PostgreSQL a trigger (migration 0002) refuses them in the database too.
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class AuditTrailImmutable(Exception):
    """An audit event cannot be changed or deleted."""


class Action(models.TextChoices):
    READ = "read", "Read"
    CREATE = "create", "Create"
    UPDATE = "update", "Update"
    DELETE = "delete", "Delete"


class Source(models.TextChoices):
    API = "api", "API"
    ADMIN = "admin", "Admin"
    WEBHOOK = "webhook", "Webhook"
    WORKER = "worker", "Worker"
    SYSTEM = "system", "System (shell, management command)"


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AuditTrailImmutable("Audit events are append-only.")

    def delete(self):
        raise AuditTrailImmutable("Audit events are append-only.")


class AuditEvent(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    at = models.DateTimeField(default=timezone.now, db_index=True)
    action = models.CharField(max_length=8, choices=Action.choices)
    source = models.CharField(max_length=8, choices=Source.choices)
    # Who: null is the system (a worker, a sweep). No database constraint, so that
    # neither deleting a user nor the append-only trigger can ever block the other;
    # the username is copied for the same reason. No index of its own: audit_actor_at_idx
    # leads with it, and every page a user reads writes a row per record shown.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_username = models.CharField(max_length=150, blank=True, default="")
    # What: the object by type and id, and the patient it concerns. Plain values, not
    # foreign keys: the trail outlives the rows it talks about.
    object_type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=64)
    patient_id = models.UUIDField(null=True, blank=True)
    history_id = models.BigIntegerField(
        null=True, blank=True, help_text="The django-simple-history row holding the values written, for writes."
    )
    # From where, for requests: the client's address and the path (never the query string).
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    path = models.CharField(max_length=300, blank=True, default="")

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at"]
        indexes = [
            models.Index(fields=["patient_id", "-at"], name="audit_patient_at_idx"),
            models.Index(fields=["actor", "-at"], name="audit_actor_at_idx"),
            models.Index(fields=["object_type", "object_id"], name="audit_object_idx"),
        ]

    def __str__(self) -> str:
        who = self.actor_username or "system"
        return f"{who} {self.action} {self.object_type} {self.object_id} via {self.source}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise AuditTrailImmutable("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditTrailImmutable("Audit events are append-only.")
