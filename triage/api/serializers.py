from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from common.serializers import DateTimeField, ModelSerializer, StrictCharField, StrictSerializer

from ..models import Assessment, Evaluation, Urgency


class AssessmentInputSerializer(StrictSerializer):
    patient = serializers.UUIDField(required=False, help_text="The patient assessed; omitted by a patient.")
    answers = serializers.JSONField(help_text="Answer code -> value, per GET /api/v1/findings/.")

    def validate_answers(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("Must be an object mapping answer codes to values.")
        return value


class OverrideInputSerializer(StrictSerializer):
    urgency = serializers.ChoiceField(choices=Urgency.choices)
    reason = StrictCharField(max_length=2000)


class RetriageInputSerializer(StrictSerializer):
    ruleset_version = StrictCharField(max_length=32, required=False, help_text="Default: the current ruleset.")


class RuleFiredSerializer(serializers.Serializer):
    id = serializers.CharField()
    title = serializers.CharField()
    level = serializers.CharField()
    source = serializers.CharField()


class RecommendedTestSerializer(serializers.Serializer):
    code = serializers.CharField()
    earliest_date = serializers.DateField(required=False)


class OverrideSerializer(serializers.Serializer):
    urgency = serializers.CharField(source="override_urgency")
    reason = serializers.CharField(source="override_reason")
    by = serializers.CharField(source="overridden_by.username", default=None)
    at = DateTimeField(source="overridden_at")


class EvaluationSerializer(ModelSerializer):
    red_flags = serializers.ListField(child=serializers.CharField())
    likely_origin = serializers.ListField(child=serializers.CharField())
    recommended_specialties = serializers.ListField(child=serializers.CharField())
    recommended_tests = RecommendedTestSerializer(many=True)
    rules_fired = RuleFiredSerializer(many=True)
    effective_urgency = serializers.CharField()
    override = serializers.SerializerMethodField()

    class Meta:
        model = Evaluation
        fields = [
            "urgency", "red_flags", "likely_origin", "recommended_specialties", "recommended_tests", "advice",
            "rules_fired", "ruleset_version", "evaluated_at", "effective_urgency", "override",
        ]

    @extend_schema_field(OverrideSerializer(allow_null=True))
    def get_override(self, evaluation):
        return OverrideSerializer(evaluation).data if evaluation.override_urgency else None


class EvaluationSummarySerializer(ModelSerializer):
    class Meta:
        model = Evaluation
        fields = ["id", "ruleset_version", "urgency", "effective_urgency", "evaluated_at"]


class EscalationSummarySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.CharField()
    tier = serializers.IntegerField()
    opened_at = DateTimeField()
    acknowledged_at = DateTimeField(allow_null=True)


class ReferralSummarySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    specialty = serializers.CharField()
    priority = serializers.CharField()
    status = serializers.CharField()
    partner = serializers.CharField(source="partner.slug", allow_null=True, help_text="The partner's slug, once sent.")
    due_by = DateTimeField(allow_null=True)


class AssessmentOutputSerializer(ModelSerializer):
    patient = serializers.UUIDField(source="patient_id")
    triage = EvaluationSerializer(source="current_evaluation", allow_null=True)
    # The assessment's escalation, or null: a nested serializer, not a method building one for each row.
    escalation = EscalationSummarySerializer(read_only=True, allow_null=True)
    referrals = ReferralSummarySerializer(many=True, source="referrals_in_order")
    evaluations = EvaluationSummarySerializer(many=True, source="evaluations_in_order")

    class Meta:
        model = Assessment
        fields = [
            "id", "patient", "status", "urgency", "submitted_at", "triaged_at", "answers", "triage",
            "escalation", "referrals", "evaluations",
        ]


class OverridesByRuleSerializer(serializers.Serializer):
    rule = serializers.CharField()
    title = serializers.CharField()
    fired = serializers.IntegerField()
    overridden = serializers.IntegerField()
    raised = serializers.IntegerField()
    lowered = serializers.IntegerField()
    override_rate = serializers.FloatField()


class FindingSerializer(serializers.Serializer):
    code = serializers.CharField()
    type = serializers.CharField()
    required = serializers.BooleanField()
    choices = serializers.ListField(child=serializers.CharField(), allow_null=True)
    minimum = serializers.IntegerField(allow_null=True)
    maximum = serializers.IntegerField(allow_null=True)
    required_when = serializers.CharField(allow_null=True)
    default = serializers.JSONField(allow_null=True)
    question = serializers.DictField(child=serializers.CharField())
    clinician_only = serializers.BooleanField()
