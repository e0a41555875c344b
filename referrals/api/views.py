"""One view per operation: validate input, call one action or selector, serialize the result."""

import uuid

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsClinicalUser, IsStaff
from audit.actions import audit_read
from audit.mixins import AuditedReadMixin
from common.errors import NotFound

from .. import actions
from ..fhir import referral_service_request
from ..models import ChangeSource, Partner, Referral
from ..selectors import partner_webhook_events, referrals_for_api
from ..webhooks.inbound import partner_webhook_event_dismiss, partner_webhook_event_replay, partner_webhook_receive
from .filters import PartnerWebhookEventFilter, ReferralFilter
from .serializers import (
    CancelInputSerializer,
    DismissInputSerializer,
    PartnerCreatedSerializer,
    PartnerEventEnvelopeSerializer,
    PartnerInputSerializer,
    PartnerOutputSerializer,
    PartnerSecretSerializer,
    PartnerUpdateSerializer,
    PartnerWebhookEventSerializer,
    ReferralOutputSerializer,
    SendInputSerializer,
    WebhookReceiptSerializer,
)

PROBLEM = OpenApiResponse(description="Problem details naming the offending field.")


def _referral(request, pk):
    """A referral the user may see, or 404 (an unknown id and one out of scope look the same)."""
    return generics.get_object_or_404(referrals_for_api(user=request.user), pk=pk)


def _referral_response(request, pk, status_code=status.HTTP_200_OK) -> Response:
    referral = _referral(request, pk)
    audit_read(user=request.user, objects=[referral], request=request)
    return Response(ReferralOutputSerializer(referral).data, status=status_code)


# --------------------------------------------------------------------------- referrals

@extend_schema(tags=["referrals"])
class ReferralListView(AuditedReadMixin, generics.ListAPIView):
    """Referrals the user may see, newest first; `overdue` and `needs_attention` make staff's worklists."""

    permission_classes = [IsAuthenticated]
    serializer_class = ReferralOutputSerializer
    filterset_class = ReferralFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no user
            return Referral.objects.none()
        return referrals_for_api(user=self.request.user)


@extend_schema(tags=["referrals"])
class ReferralDetailView(AuditedReadMixin, generics.RetrieveAPIView):
    permission_classes = [IsAuthenticated]
    serializer_class = ReferralOutputSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no user
            return Referral.objects.none()
        return referrals_for_api(user=self.request.user)


class ReferralSendView(APIView):
    """proposed -> sent, to an active partner that takes the referral's specialty."""

    permission_classes = [IsClinicalUser]

    @extend_schema(tags=["referrals"], request=SendInputSerializer,
                   responses={200: ReferralOutputSerializer, 400: PROBLEM, 404: PROBLEM, 409: PROBLEM})
    def post(self, request, pk):
        referral = _referral(request, pk)
        data = SendInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        actions.referral_send(referral=referral, partner=data.validated_data["partner"], by=request.user,
                              source=ChangeSource.API)
        return _referral_response(request, pk)


class ReferralCancelView(APIView):
    """Any state that is not final -> cancelled, with a reason."""

    permission_classes = [IsClinicalUser]

    @extend_schema(tags=["referrals"], request=CancelInputSerializer,
                   responses={200: ReferralOutputSerializer, 400: PROBLEM, 404: PROBLEM, 409: PROBLEM})
    def post(self, request, pk):
        referral = _referral(request, pk)
        data = CancelInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        actions.referral_cancel(referral=referral, reason=data.validated_data["reason"], by=request.user,
                                source=ChangeSource.API)
        return _referral_response(request, pk)


class ReferralResendView(APIView):
    """A declined referral to another partner: a NEW referral (201), the declined one leaves the worklist."""

    permission_classes = [IsClinicalUser]

    @extend_schema(tags=["referrals"], request=SendInputSerializer,
                   responses={201: ReferralOutputSerializer, 400: PROBLEM, 404: PROBLEM, 409: PROBLEM})
    def post(self, request, pk):
        referral = _referral(request, pk)
        data = SendInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fresh = actions.referral_resend(referral=referral, partner=data.validated_data["partner"], by=request.user,
                                        source=ChangeSource.API)
        return _referral_response(request, fresh.pk, status.HTTP_201_CREATED)


class ReferralFhirView(APIView):
    """The referral as a FHIR R4 ServiceRequest (application/fhir+json)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(tags=["referrals"], responses={
        (200, "application/fhir+json"): OpenApiResponse(OpenApiTypes.OBJECT, description="FHIR R4 ServiceRequest"),
        404: PROBLEM,
    })
    def get(self, request, pk):
        referral = generics.get_object_or_404(
            referrals_for_api(user=request.user).select_related("assessment__current_evaluation", "patient"), pk=pk
        )
        audit_read(user=request.user, objects=[referral], request=request)
        return Response(referral_service_request(referral), content_type="application/fhir+json")


# --------------------------------------------------------------------------- partners

def _partner(lookup: str) -> Partner:
    """By slug, or by id."""
    partner = Partner.objects.filter(slug=lookup).first()
    if partner is None:
        try:
            partner = Partner.objects.filter(pk=uuid.UUID(lookup)).first()
        except ValueError:
            partner = None
    if partner is None:
        raise NotFound("No such partner.")
    return partner


class PartnerPermission(IsClinicalUser):
    """Clinicians and staff read (they choose where to send); only staff change."""

    def has_permission(self, request, view) -> bool:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return super().has_permission(request, view)
        return IsStaff().has_permission(request, view)


@extend_schema(tags=["partners"])
class PartnerListCreateView(generics.ListAPIView):
    permission_classes = [PartnerPermission]
    serializer_class = PartnerOutputSerializer
    queryset = Partner.objects.all()

    @extend_schema(request=PartnerInputSerializer, responses={201: PartnerCreatedSerializer, 400: PROBLEM},
                   examples=[OpenApiExample("A partner", request_only=True, value={
                       "name": "General Hospital", "slug": "general-hospital",
                       "specialties": ["neurosurgery", "physiotherapy"],
                       "webhook_url": "https://partner.example.org/hooks/referrals"})])
    def post(self, request):
        """Staff: a partner and its webhook secret, shown only in this response."""
        data = PartnerInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        partner, secret = actions.partner_create(**data.validated_data)
        return Response(PartnerCreatedSerializer(partner, context={"webhook_secret": secret}).data,
                        status=status.HTTP_201_CREATED)


@extend_schema(tags=["partners"])
class PartnerDetailView(APIView):
    permission_classes = [PartnerPermission]

    @extend_schema(responses={200: PartnerOutputSerializer, 404: PROBLEM})
    def get(self, request, lookup):
        return Response(PartnerOutputSerializer(_partner(lookup)).data)

    @extend_schema(request=PartnerUpdateSerializer, responses={200: PartnerOutputSerializer, 400: PROBLEM})
    def patch(self, request, lookup):
        partner = _partner(lookup)
        data = PartnerUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        partner = actions.partner_update(partner=partner, **data.validated_data)
        return Response(PartnerOutputSerializer(partner).data)


class PartnerRotateSecretView(APIView):
    """Staff: a new webhook secret, shown only in this response; the old one verifies for a grace period."""

    permission_classes = [IsStaff]

    @extend_schema(tags=["partners"], request=None, responses={200: PartnerSecretSerializer, 404: PROBLEM})
    def post(self, request, lookup):
        partner = _partner(lookup)
        secret = actions.partner_rotate_secret(partner=partner)
        partner.refresh_from_db()
        return Response(PartnerSecretSerializer(
            {"webhook_secret": secret, "previous_secret_valid_until": partner.previous_secret_valid_until}
        ).data)


# --------------------------------------------------------------------------- partner webhooks

class PartnerWebhookView(APIView):
    """A partner's event, signed with the Standard Webhooks scheme; the signature is the authentication."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        tags=["partner webhooks"], auth=[], request=PartnerEventEnvelopeSerializer,
        parameters=[
            OpenApiParameter("webhook-id", str, OpenApiParameter.HEADER, required=True),
            OpenApiParameter("webhook-timestamp", str, OpenApiParameter.HEADER, required=True,
                             description="Unix seconds; more than 5 minutes off is refused."),
            OpenApiParameter("webhook-signature", str, OpenApiParameter.HEADER, required=True,
                             description="v1,<base64 HMAC-SHA256 of id.timestamp.body>"),
        ],
        responses={
            200: WebhookReceiptSerializer,
            400: OpenApiResponse(description="Malformed: not JSON, unknown type, missing or invalid data."),
            401: OpenApiResponse(description="Bad signature, or a timestamp more than 5 minutes off."),
            404: OpenApiResponse(description="Unknown partner, or a referral unknown or not this partner's."),
            409: OpenApiResponse(description="A move the status machine refuses; the event is kept for review."),
        },
    )
    def post(self, request, slug):
        receipt = partner_webhook_receive(slug=slug, body=request.body, headers=request.headers)
        if receipt.error is not None:
            raise receipt.error
        event = receipt.event
        return Response(WebhookReceiptSerializer({
            "id": event.id, "webhook_id": event.webhook_id,
            "outcome": "already_processed" if receipt.redelivery else event.outcome,
            "referral": event.referral_id, "referral_status": event.referral.status if event.referral_id else None,
        }).data)


@extend_schema(tags=["partner webhooks"])
class PartnerWebhookEventListView(generics.ListAPIView):
    """Staff: what partners sent, whatever became of it; `?outcome=kept_for_review` is the review inbox."""

    permission_classes = [IsStaff]
    serializer_class = PartnerWebhookEventSerializer
    filterset_class = PartnerWebhookEventFilter

    def get_queryset(self):
        return partner_webhook_events()


@extend_schema(tags=["partner webhooks"])
class PartnerWebhookEventDetailView(generics.RetrieveAPIView):
    permission_classes = [IsStaff]
    serializer_class = PartnerWebhookEventSerializer

    def get_queryset(self):
        return partner_webhook_events()


class PartnerWebhookEventReplayView(APIView):
    """Staff: apply an event kept for review now (409 while the move is still refused)."""

    permission_classes = [IsStaff]

    @extend_schema(tags=["partner webhooks"], request=None,
                   responses={200: PartnerWebhookEventSerializer, 404: PROBLEM, 409: PROBLEM})
    def post(self, request, pk):
        event = generics.get_object_or_404(partner_webhook_events(), pk=pk)
        event = partner_webhook_event_replay(event=event, by=request.user, source=ChangeSource.API)
        return Response(PartnerWebhookEventSerializer(partner_webhook_events().get(pk=event.pk)).data)


class PartnerWebhookEventDismissView(APIView):
    """Staff: close an event kept for review without acting on it."""

    permission_classes = [IsStaff]

    @extend_schema(tags=["partner webhooks"], request=DismissInputSerializer,
                   responses={200: PartnerWebhookEventSerializer, 400: PROBLEM, 404: PROBLEM, 409: PROBLEM})
    def post(self, request, pk):
        event = generics.get_object_or_404(partner_webhook_events(), pk=pk)
        data = DismissInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        partner_webhook_event_dismiss(event=event, by=request.user, note=data.validated_data["note"])
        return Response(PartnerWebhookEventSerializer(partner_webhook_events().get(pk=event.pk)).data)
