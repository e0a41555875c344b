import re

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from common.serializers import DateTimeField, ModelSerializer, StrictCharField, StrictSerializer

from ..models import Partner, PartnerWebhookEvent, Referral, ReferralEvent, Specialty
from ..state import OPEN_STATUSES

SLUG = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$")


class StrictBooleanField(serializers.BooleanField):
    """true or false, not "yes" or 1."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


# --------------------------------------------------------------------------- referrals

class ReferralEventSerializer(ModelSerializer):
    status = serializers.CharField(source="to_status")
    by = serializers.SerializerMethodField(help_text="Username, or partner:<slug> for a partner's webhook.")

    class Meta:
        model = ReferralEvent
        fields = ["status", "from_status", "at", "by", "source", "note"]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_by(self, event: ReferralEvent) -> str | None:
        if event.by_id:
            return event.by.username
        if event.webhook_event_id:
            return f"partner:{event.webhook_event.partner.slug}"
        return None


class ReferralOutputSerializer(ModelSerializer):
    assessment = serializers.UUIDField(source="assessment_id")
    patient = serializers.UUIDField(source="patient_id")
    partner = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    sla_clock = serializers.CharField(allow_null=True, help_text="acceptance, seen, or null once final.")
    overdue = serializers.SerializerMethodField(help_text="Open and past due_by.")
    resent_from = serializers.UUIDField(source="resent_from_id", allow_null=True)
    history = ReferralEventSerializer(source="events", many=True)

    class Meta:
        model = Referral
        fields = [
            "id", "assessment", "patient", "specialty", "priority", "status", "partner", "due_by",
            "appointment_at", "created_at", "sla_clock", "clock_started_at", "overdue", "overdue_since",
            "sent_at", "partner_reference", "decline_reason_code", "decline_reason", "needs_resend", "outcome",
            "cancel_reason", "resent_from", "history",
        ]

    def get_overdue(self, referral: Referral) -> bool:
        return referral.status in OPEN_STATUSES and referral.due_by is not None and referral.due_by < timezone.now()


class SendInputSerializer(StrictSerializer):
    partner = StrictCharField(max_length=64, help_text="The partner's slug.")


class CancelInputSerializer(StrictSerializer):
    reason = StrictCharField(max_length=2000)


# --------------------------------------------------------------------------- partners

class PartnerInputSerializer(StrictSerializer):
    name = StrictCharField(max_length=200)
    slug = StrictCharField(max_length=64, help_text="Lower-case letters, digits, - and _; the webhook URL uses it.")
    specialties = serializers.ListField(child=serializers.ChoiceField(choices=Specialty.choices), allow_empty=False)
    webhook_url = serializers.URLField(required=False, allow_blank=True, default="", max_length=200)
    active = StrictBooleanField(required=False, default=True)

    def validate_slug(self, value: str) -> str:
        if not SLUG.match(value):
            raise serializers.ValidationError("Lower-case letters and digits, separated by - or _.")
        return value

    def validate_specialties(self, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise serializers.ValidationError("A specialty is listed twice.")
        return value

    def validate_webhook_url(self, value: str) -> str:
        if value and not value.lower().startswith(("http://", "https://")):
            raise serializers.ValidationError("An http or https URL.")
        return value


class PartnerUpdateSerializer(PartnerInputSerializer):
    slug = None  # fixed once made: partners post to a URL that holds it

    def __init__(self, *args, **kwargs):
        super().__init__(*args, partial=True, **kwargs)


class PartnerOutputSerializer(ModelSerializer):
    specialties = serializers.ListField(child=serializers.CharField())

    class Meta:
        model = Partner
        fields = ["id", "name", "slug", "specialties", "webhook_url", "active", "created_at", "secret_rotated_at"]


class PartnerCreatedSerializer(PartnerOutputSerializer):
    webhook_secret = serializers.SerializerMethodField(
        help_text="The Standard Webhooks secret (whsec_...), shown only in this response."
    )

    class Meta(PartnerOutputSerializer.Meta):
        fields = [*PartnerOutputSerializer.Meta.fields, "webhook_secret"]

    def get_webhook_secret(self, partner) -> str:
        return self.context["webhook_secret"]


class PartnerSecretSerializer(serializers.Serializer):
    webhook_secret = serializers.CharField(help_text="The new secret, shown only in this response.")
    previous_secret_valid_until = DateTimeField(help_text="The old secret verifies until then.")


# --------------------------------------------------------------------------- partner webhooks

class PartnerEventEnvelopeSerializer(serializers.Serializer):
    """The body a partner posts (for the schema; the view verifies and reads the raw bytes)."""

    type = serializers.ChoiceField(choices=[
        "referral.accepted", "referral.declined", "appointment.scheduled", "appointment.completed",
        "appointment.no_show",
    ])
    data = serializers.DictField(help_text=(
        "referral_id, and: partner_reference? (accepted); reason, reason_code? (declined); "
        "appointment_at, ISO 8601 with a zone (scheduled); outcome? (completed)."
    ))


class WebhookReceiptSerializer(serializers.Serializer):
    id = serializers.UUIDField(help_text="The stored event.")
    webhook_id = serializers.CharField()
    outcome = serializers.CharField(help_text="applied, duplicate, or already_processed for a redelivery.")
    referral = serializers.UUIDField(allow_null=True)
    referral_status = serializers.CharField(allow_null=True)


class PartnerWebhookEventSerializer(ModelSerializer):
    partner = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    referral = serializers.UUIDField(source="referral_id", allow_null=True)
    reviewed_by = serializers.CharField(source="reviewed_by.username", default=None)
    headers = serializers.DictField(child=serializers.CharField())
    body = serializers.SerializerMethodField()

    class Meta:
        model = PartnerWebhookEvent
        fields = [
            "id", "partner", "webhook_id", "received_at", "event_type", "referral", "referral_ref", "outcome",
            "status_code", "detail", "redeliveries", "last_redelivered_at", "reviewed_by", "reviewed_at",
            "review_note", "headers", "body",
        ]

    @extend_schema_field(OpenApiTypes.STR)
    def get_body(self, event) -> str:
        return event.body


class DismissInputSerializer(StrictSerializer):
    note = StrictCharField(max_length=2000)
