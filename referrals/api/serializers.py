from rest_framework import serializers

from ..models import Referral, ReferralEvent


class ReferralEventSerializer(serializers.ModelSerializer):
    status = serializers.CharField(source="to_status")
    by = serializers.CharField(source="by.username", default=None)

    class Meta:
        model = ReferralEvent
        fields = ["status", "from_status", "at", "by", "source", "note"]


class ReferralOutputSerializer(serializers.ModelSerializer):
    assessment = serializers.UUIDField(source="assessment_id")
    patient = serializers.UUIDField(source="patient_id")
    partner = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    history = ReferralEventSerializer(source="events", many=True)

    class Meta:
        model = Referral
        fields = [
            "id", "assessment", "patient", "specialty", "priority", "status", "partner", "due_by",
            "appointment_at", "created_at", "history",
        ]
