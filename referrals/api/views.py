from django.db.models import Prefetch
from rest_framework import generics
from rest_framework.permissions import IsAuthenticated

from ..models import ReferralEvent
from ..selectors import referrals_visible_to
from .serializers import ReferralOutputSerializer


def _referrals_for_api(user):
    return referrals_visible_to(user=user).select_related("partner").prefetch_related(
        Prefetch("events", queryset=ReferralEvent.objects.select_related("by"))
    )


class ReferralListView(generics.ListAPIView):
    permission_classes = [IsAuthenticated]
    serializer_class = ReferralOutputSerializer
    filterset_fields = ["status", "specialty", "priority"]

    def get_queryset(self):
        return _referrals_for_api(self.request.user)


class ReferralDetailView(generics.RetrieveAPIView):
    permission_classes = [IsAuthenticated]
    serializer_class = ReferralOutputSerializer

    def get_queryset(self):
        return _referrals_for_api(self.request.user)
