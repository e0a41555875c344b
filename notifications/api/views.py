from django.conf import settings
from django.utils import formats, timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.parsers import FormParser
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BaseRenderer, TemplateHTMLRenderer
from rest_framework.response import Response
from rest_framework.views import APIView
from twilio.request_validator import SIGNATURE_SETTINGS_HEADER, RequestValidator, get_signature_algorithm
from twilio.twiml.messaging_response import MessagingResponse

from accounts.permissions import IsClinicalUser, IsStaff
from audit.actions import audit_read
from audit.mixins import AuditedReadMixin

from ..actions import (
    escalation_acknowledge,
    escalation_acknowledge_by_link,
    escalation_acknowledge_by_sms,
    notification_provider_status,
    oncall_contact_create,
    oncall_contact_delete,
    oncall_contact_update,
)
from ..links import InvalidLink
from ..messages import ack_page_text, patient_label, sms_reply_text
from ..models import Escalation, EscalationStatus
from ..selectors import escalations_for_api, escalations_visible_to, notification_for_ack_link, oncall_contacts
from .filters import EscalationFilter
from .serializers import (
    AcknowledgeInputSerializer,
    EscalationOutputSerializer,
    OnCallContactInputSerializer,
    OnCallContactOutputSerializer,
    TwilioInboundMessageSerializer,
    TwilioStatusCallbackSerializer,
)

# --------------------------------------------------------------------------- on-call contacts


class OnCallContactListCreateView(generics.ListAPIView):
    """The on-call rota: who is paged, at which tier. Clinic staff only."""

    permission_classes = [IsStaff]
    serializer_class = OnCallContactOutputSerializer
    filterset_fields = ["tier", "active"]

    def get_queryset(self):
        return oncall_contacts()

    @extend_schema(request=OnCallContactInputSerializer, responses={201: OnCallContactOutputSerializer})
    def post(self, request):
        data = OnCallContactInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        contact = oncall_contact_create(**data.validated_data)
        return Response(OnCallContactOutputSerializer(contact).data, status=status.HTTP_201_CREATED)


class OnCallContactDetailView(generics.RetrieveAPIView):
    permission_classes = [IsStaff]
    serializer_class = OnCallContactOutputSerializer

    def get_queryset(self):
        return oncall_contacts()

    @extend_schema(request=OnCallContactInputSerializer(partial=True), responses={200: OnCallContactOutputSerializer})
    def patch(self, request, pk):
        contact = self.get_object()
        data = OnCallContactInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        contact = oncall_contact_update(contact=contact, **data.validated_data)
        return Response(OnCallContactOutputSerializer(contact).data)

    @extend_schema(responses={204: None})
    def delete(self, request, pk):
        oncall_contact_delete(contact=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


# --------------------------------------------------------------------------- escalations


class EscalationListView(AuditedReadMixin, generics.ListAPIView):
    """Escalations of the user's clinic, newest first; `?status=exhausted` is what nobody took."""

    permission_classes = [IsClinicalUser]
    serializer_class = EscalationOutputSerializer
    filterset_class = EscalationFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation, no user
            return Escalation.objects.none()
        return escalations_for_api(user=self.request.user).order_by("-opened_at")


class EscalationDetailView(AuditedReadMixin, generics.RetrieveAPIView):
    permission_classes = [IsClinicalUser]
    serializer_class = EscalationOutputSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Escalation.objects.none()
        return escalations_for_api(user=self.request.user)


class EscalationAcknowledgeView(APIView):
    """Take the case: the next tier is not paged. A second acknowledgement changes nothing."""

    permission_classes = [IsClinicalUser]

    @extend_schema(request=AcknowledgeInputSerializer, responses={200: EscalationOutputSerializer})
    def post(self, request, pk):
        # In the user's scope, or a 404; its representation is read once acknowledged, below.
        escalation = generics.get_object_or_404(escalations_visible_to(user=request.user), pk=pk)
        data = AcknowledgeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        escalation_acknowledge(escalation=escalation, by=request.user, via="api", note=data.validated_data["note"])
        escalation = escalations_for_api(user=request.user).get(pk=pk)
        audit_read(user=request.user, objects=[escalation], request=request)
        return Response(EscalationOutputSerializer(escalation).data)


class EscalationAcknowledgeLinkView(APIView):
    """The signed link in a page. GET shows a confirmation page (link previewers only GET); POST acknowledges.

    The signed token is the credential. Once the case is acknowledged, by any
    path, every link of it only says so.
    """

    permission_classes = [AllowAny]
    authentication_classes = []
    parser_classes = [FormParser]
    renderer_classes = [TemplateHTMLRenderer]
    template_name = "notifications/pages/ack.html"

    @extend_schema(responses={(200, "text/html"): OpenApiTypes.STR, (400, "text/html"): OpenApiTypes.STR,
                              (404, "text/html"): OpenApiTypes.STR})
    def get(self, request, token):
        try:
            notification = notification_for_ack_link(token=token)
        except InvalidLink as error:
            return self._page("en", error.reason, "", status.HTTP_400_BAD_REQUEST)
        if notification is None:
            return self._page("en", "invalid", "", status.HTTP_404_NOT_FOUND)
        escalation = notification.escalation
        if escalation.status == EscalationStatus.ACKNOWLEDGED:
            return self._page(notification.language, "already", escalation.case_code, when=escalation.acknowledged_at)
        return self._page(notification.language, "confirm", escalation.case_code,
                          who=patient_label(escalation.assessment.patient))

    @extend_schema(request=None, responses={(200, "text/html"): OpenApiTypes.STR, (400, "text/html"): OpenApiTypes.STR})
    def post(self, request, token):
        try:
            result = escalation_acknowledge_by_link(token=token)
        except InvalidLink as error:
            return self._page("en", error.reason, "", status.HTTP_400_BAD_REQUEST)
        state = "done" if result.acknowledged_now else "already"
        return self._page(result.language, state, result.escalation.case_code, when=result.escalation.acknowledged_at)

    def _page(self, language, state, code, http_status=status.HTTP_200_OK, *, who="", when=None):
        text = ack_page_text(language)
        moment = f" ({formats.date_format(timezone.localtime(when), 'DATETIME_FORMAT')})" if when else ""
        context = {
            "language": language, "state": state, "title": text["title"].format(code=code),
            "message": text[state].format(code=code, who=who, when=moment),
            "button": text["button"].format(code=code),
        }
        return Response(context, status=http_status, template_name=self.template_name)


# --------------------------------------------------------------------------- Twilio webhooks


class TwiMLRenderer(BaseRenderer):
    media_type = "application/xml"
    format = "xml"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return (data if isinstance(data, str) else str(MessagingResponse())).encode(self.charset)


def twilio_signature_valid(request) -> bool:
    """X-Twilio-Signature over our public URL and the posted form, with the account's auth token."""
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature or not settings.TWILIO_AUTH_TOKEN:
        return False
    return RequestValidator(settings.TWILIO_AUTH_TOKEN).validate(
        settings.PUBLIC_BASE_URL + request.get_full_path(), request.data, signature,
        algorithm=get_signature_algorithm(request.headers.get(SIGNATURE_SETTINGS_HEADER)),
    )


class TwilioWebhookView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = []  # signed by Twilio; a burst of callbacks must not be refused
    parser_classes = [FormParser]
    renderer_classes = [TwiMLRenderer]

    def refused(self) -> Response:
        return Response(str(MessagingResponse()), status=status.HTTP_403_FORBIDDEN)


class TwilioStatusCallbackView(TwilioWebhookView):
    """Twilio reports what became of an SMS. Unknown ids get a 200 too, so that Twilio stops retrying."""

    @extend_schema(
        request={"application/x-www-form-urlencoded": TwilioStatusCallbackSerializer},
        responses={200: OpenApiResponse(description="Recorded (or unknown message: ignored)."),
                   403: OpenApiResponse(description="Bad or missing X-Twilio-Signature.")},
    )
    def post(self, request):
        if not twilio_signature_valid(request):
            return self.refused()
        data = TwilioStatusCallbackSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        notification_provider_status(
            provider_id=data.validated_data["MessageSid"], status=data.validated_data["MessageStatus"].lower(),
            error_code=data.validated_data.get("ErrorCode", ""),
        )
        return Response(str(MessagingResponse()))


class TwilioInboundMessageView(TwilioWebhookView):
    """An SMS reply such as `ACK 4821` acknowledges case 4821 for a number that was paged for it."""

    @extend_schema(
        request={"application/x-www-form-urlencoded": TwilioInboundMessageSerializer},
        responses={(200, "application/xml"): OpenApiResponse(OpenApiTypes.STR, description="TwiML reply."),
                   403: OpenApiResponse(description="Bad or missing X-Twilio-Signature.")},
    )
    def post(self, request):
        if not twilio_signature_valid(request):
            return self.refused()
        data = TwilioInboundMessageSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = escalation_acknowledge_by_sms(
            from_number=data.validated_data["From"], body=data.validated_data["Body"]
        )
        reply = MessagingResponse()
        reply.message(sms_reply_text(outcome=result.outcome, case_code=result.case_code, language=result.language))
        return Response(str(reply))
