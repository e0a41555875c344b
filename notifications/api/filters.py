import django_filters

from ..models import Escalation, EscalationStatus


class EscalationFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=EscalationStatus.choices)

    class Meta:
        model = Escalation
        fields = ["status"]
