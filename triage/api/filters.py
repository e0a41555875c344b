import django_filters

from ..models import Assessment, AssessmentStatus, Urgency


class AssessmentFilter(django_filters.FilterSet):
    urgency = django_filters.ChoiceFilter(choices=Urgency.choices)
    status = django_filters.ChoiceFilter(choices=AssessmentStatus.choices)
    patient = django_filters.UUIDFilter(field_name="patient_id")
    submitted_after = django_filters.IsoDateTimeFilter(field_name="submitted_at", lookup_expr="gte")
    submitted_before = django_filters.IsoDateTimeFilter(field_name="submitted_at", lookup_expr="lt")

    class Meta:
        model = Assessment
        fields = ["urgency", "status", "patient", "submitted_after", "submitted_before"]
