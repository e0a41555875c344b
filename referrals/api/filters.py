import django_filters
from django.utils import timezone

from triage.models import Urgency

from ..models import PartnerWebhookEvent, Referral, ReferralStatus, Specialty, WebhookOutcome
from ..selectors import referrals_needing_attention, referrals_overdue


class ReferralFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=ReferralStatus.choices)
    specialty = django_filters.ChoiceFilter(choices=Specialty.choices)
    priority = django_filters.ChoiceFilter(choices=Urgency.choices)
    partner = django_filters.CharFilter(field_name="partner__slug", help_text="Partner slug.")
    overdue = django_filters.BooleanFilter(method="filter_overdue", help_text="Open and past due_by.")
    needs_attention = django_filters.BooleanFilter(
        method="filter_needs_attention",
        help_text="Staff's worklist: declined and not re-sent, overdue, or with a partner event kept for review.",
    )

    class Meta:
        model = Referral
        fields = ["status", "specialty", "priority", "partner", "overdue", "needs_attention"]

    def filter_overdue(self, queryset, name, value):
        overdue = referrals_overdue(queryset, now=timezone.now())
        return overdue if value else queryset.exclude(pk__in=overdue.values("pk"))

    def filter_needs_attention(self, queryset, name, value):
        needing = referrals_needing_attention(queryset, now=timezone.now())
        return needing if value else queryset.exclude(pk__in=needing.values("pk"))


class PartnerWebhookEventFilter(django_filters.FilterSet):
    partner = django_filters.CharFilter(field_name="partner__slug")
    outcome = django_filters.ChoiceFilter(choices=WebhookOutcome.choices)
    event_type = django_filters.CharFilter()
    referral = django_filters.UUIDFilter(field_name="referral_id")

    class Meta:
        model = PartnerWebhookEvent
        fields = ["partner", "outcome", "event_type", "referral"]
