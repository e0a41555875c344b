import json

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Role
from accounts.permissions import IsClinicalUser, IsPatientOrClinicalUser
from audit.actions import audit_read
from audit.mixins import AuditedReadMixin
from common.api import ProblemDetailsSerializer
from patients.selectors import patient_of_user, patients_visible_to

from ..actions import assessment_retriage, assessment_submit, evaluation_override
from ..idempotency import Replay, idempotency_claim, idempotency_complete, idempotency_release, request_fingerprint
from ..rules import CURRENT_RULESET, FINDINGS
from ..selectors import assessment_submitted_for_api, assessments_for_api, overrides_by_rule
from .filters import AssessmentFilter
from .serializers import (
    AssessmentInputSerializer,
    AssessmentOutputSerializer,
    FindingSerializer,
    OverrideInputSerializer,
    OverridesByRuleSerializer,
    RetriageInputSerializer,
)


class FindingListView(generics.ListAPIView):
    """The answers catalogue: every code with its type, range or choices, and its question in each language."""

    permission_classes = [AllowAny]
    serializer_class = FindingSerializer
    filter_backends = []

    def get_queryset(self):
        return [finding.as_dict() for finding in FINDINGS]


IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER,
    description="Makes the POST safe to retry: the same key and body return the first response; "
    "the same key with another body is a 422.",
)


class AssessmentListCreateView(AuditedReadMixin, generics.ListAPIView):
    permission_classes = [IsPatientOrClinicalUser]
    serializer_class = AssessmentOutputSerializer
    filterset_class = AssessmentFilter

    def get_queryset(self):
        return assessments_for_api(user=self.request.user).order_by("-submitted_at")

    @extend_schema(
        request=AssessmentInputSerializer, parameters=[IDEMPOTENCY_KEY],
        responses={202: AssessmentOutputSerializer, 422: ProblemDetailsSerializer},
    )
    def post(self, request):
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return self._submit(request)
        if not key.strip() or len(key) > 255:
            raise serializers.ValidationError({"Idempotency-Key": ["Must be 1 to 255 characters."]})
        claim = idempotency_claim(
            user=request.user, key=key,
            fingerprint=request_fingerprint(method="POST", path=request.path, body=request.data),
        )
        if isinstance(claim, Replay):
            return Response(claim.body, status=claim.status)
        try:
            response = self._submit(request)
        except Exception:
            idempotency_release(record=claim)
            raise
        idempotency_complete(record=claim, status=response.status_code,
                             body=json.loads(JSONRenderer().render(response.data)))
        return response

    def _submit(self, request) -> Response:
        data = AssessmentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        patient = self._patient(request.user, data.validated_data.get("patient"))
        assessment = assessment_submit(
            submitted_by=request.user, patient=patient, answers=data.validated_data["answers"]
        )
        assessment = assessment_submitted_for_api(assessment=assessment)
        return Response(AssessmentOutputSerializer(assessment).data, status=status.HTTP_202_ACCEPTED)

    @staticmethod
    def _patient(user, patient_id):
        if user.role == Role.PATIENT and not user.is_superuser:
            own = patient_of_user(user=user)
            if own is None or (patient_id is not None and patient_id != own.id):
                raise serializers.ValidationError({"patient": ["A patient may only submit their own assessment."]})
            return own
        if patient_id is None:
            raise serializers.ValidationError({"patient": ["This field is required."]})
        patient = patients_visible_to(user=user).filter(pk=patient_id).first()
        if patient is None:
            raise serializers.ValidationError({"patient": ["Unknown patient."]})
        return patient


class AssessmentDetailView(AuditedReadMixin, generics.RetrieveAPIView):
    permission_classes = [IsPatientOrClinicalUser]
    serializer_class = AssessmentOutputSerializer

    def get_queryset(self):
        return assessments_for_api(user=self.request.user)


class AssessmentOverrideView(APIView):
    """A clinician overrides the urgency of the current result, with a reason."""

    permission_classes = [IsClinicalUser]

    @extend_schema(
        request=OverrideInputSerializer, responses={200: AssessmentOutputSerializer, 409: ProblemDetailsSerializer}
    )
    def post(self, request, pk):
        assessment = generics.get_object_or_404(assessments_for_api(user=request.user), pk=pk)
        data = OverrideInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if assessment.current_evaluation is None:
            raise serializers.ValidationError({"assessment": ["Not triaged yet: nothing to override."]})
        evaluation_override(evaluation=assessment.current_evaluation, by=request.user, **data.validated_data)
        assessment = assessments_for_api(user=request.user).get(pk=pk)
        audit_read(user=request.user, objects=[assessment], request=request)
        return Response(AssessmentOutputSerializer(assessment).data)


class AssessmentRetriageView(APIView):
    """Re-triage under a (newer) ruleset version; the earlier result is kept."""

    permission_classes = [IsClinicalUser]

    @extend_schema(
        request=RetriageInputSerializer, responses={201: AssessmentOutputSerializer, 409: ProblemDetailsSerializer}
    )
    def post(self, request, pk):
        assessment = generics.get_object_or_404(assessments_for_api(user=request.user), pk=pk)
        data = RetriageInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        version = data.validated_data.get("ruleset_version") or CURRENT_RULESET.version
        assessment_retriage(assessment=assessment, ruleset_version=version, by=request.user)
        assessment = assessments_for_api(user=request.user).get(pk=pk)
        audit_read(user=request.user, objects=[assessment], request=request)
        return Response(AssessmentOutputSerializer(assessment).data, status=status.HTTP_201_CREATED)


class OverridesByRuleView(APIView):
    """Where the rules and the clinicians disagree: overrides per rule that fired."""

    permission_classes = [IsClinicalUser]

    @extend_schema(responses={200: OverridesByRuleSerializer(many=True)})
    def get(self, request):
        return Response(OverridesByRuleSerializer(overrides_by_rule(user=request.user), many=True).data)
