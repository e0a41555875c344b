import django_filters

from common.filters import UtcIsoDateTimeFilter

from ..models import Assessment, AssessmentStatus, Urgency


class AssessmentFilter(django_filters.FilterSet):
    urgency = django_filters.ChoiceFilter(choices=Urgency.choices)
    status = django_filters.ChoiceFilter(choices=AssessmentStatus.choices)
    patient = django_filters.UUIDFilter(field_name="patient_id")
    submitted_after = UtcIsoDateTimeFilter(field_name="submitted_at", lookup_expr="gte")
    submitted_before = UtcIsoDateTimeFilter(field_name="submitted_at", lookup_expr="lt")

    class Meta:
        model = Assessment
        fields = ["urgency", "status", "patient", "submitted_after", "submitted_before"]
