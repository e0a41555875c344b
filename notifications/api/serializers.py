from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from common.serializers import ModelSerializer, StrictCharField, StrictEmailField, StrictSerializer
from patients.api.serializers import E164PhoneField
from patients.models import Language

from ..models import Escalation, Notification, OnCallContact


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer and nothing else: "2", 2.0 and true are not tiers."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class OnCallContactInputSerializer(StrictSerializer):
    name = StrictCharField(max_length=200)
    phone = E164PhoneField()
    email = StrictEmailField()
    tier = StrictIntegerField(min_value=1, max_value=99)
    active = StrictBooleanField(default=True)
    language = serializers.ChoiceField(choices=Language.choices, default=Language.ENGLISH)


class OnCallContactOutputSerializer(ModelSerializer):
    phone = serializers.CharField(source="phone.as_e164", read_only=True)

    class Meta:
        model = OnCallContact
        fields = ["id", "name", "phone", "email", "tier", "active", "language", "created_at", "updated_at"]
        read_only_fields = fields


class NotificationOutputSerializer(ModelSerializer):
    class Meta:
        model = Notification
        fields = [
            "id", "kind", "channel", "tier", "recipient", "status", "attempts", "queued_at", "sent_at",
            "delivered_at", "failed_at", "last_error",
        ]
        read_only_fields = fields


class AcknowledgerSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["user", "contact"])
    id = serializers.CharField()
    name = serializers.CharField()


class EscalationOutputSerializer(ModelSerializer):
    assessment = serializers.UUIDField(source="assessment_id", read_only=True)
    acknowledged_by = serializers.SerializerMethodField()
    notifications = NotificationOutputSerializer(many=True, read_only=True)

    class Meta:
        model = Escalation
        fields = [
            "id", "assessment", "status", "tier", "case_code", "opened_at", "next_tier_due_at", "acknowledged_at",
            "acknowledged_by", "acknowledged_via", "exhausted_at", "notifications",
        ]
        read_only_fields = fields

    @extend_schema_field(AcknowledgerSerializer(allow_null=True))
    def get_acknowledged_by(self, escalation):
        if escalation.acknowledged_by is not None:
            user = escalation.acknowledged_by
            return {"kind": "user", "id": str(user.pk), "name": user.get_full_name() or user.get_username()}
        if escalation.acknowledged_by_contact is not None:
            contact = escalation.acknowledged_by_contact
            return {"kind": "contact", "id": str(contact.pk), "name": contact.name}
        return None


class AcknowledgeInputSerializer(StrictSerializer):
    note = StrictCharField(max_length=1000, required=False, allow_blank=True, default="")


class TwilioStatusCallbackSerializer(serializers.Serializer):
    """The fields of Twilio's message status callback that we read (it sends more)."""

    MessageSid = serializers.CharField()
    MessageStatus = serializers.CharField()
    ErrorCode = serializers.CharField(required=False, allow_blank=True)


class TwilioInboundMessageSerializer(serializers.Serializer):
    """The fields of Twilio's incoming-message webhook that we read (it sends more)."""

    MessageSid = serializers.CharField()
    From = serializers.CharField()
    Body = serializers.CharField(allow_blank=True)
