from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsClinicalUser, IsPatient, IsPatientOrClinicalUser
from audit.actions import audit_read
from audit.mixins import AuditedReadMixin
from common.throttling import AnonRateThrottle, ScopedRateThrottle

from ..actions import patient_create, patient_register
from ..selectors import patient_of_user, patients_visible_to
from .serializers import PatientInputSerializer, PatientOutputSerializer, RegisterInputSerializer


class PatientListCreateView(AuditedReadMixin, generics.ListAPIView):
    permission_classes = [IsClinicalUser]
    serializer_class = PatientOutputSerializer
    filterset_fields = ["external_id", "language"]

    def get_queryset(self):
        return patients_visible_to(user=self.request.user).select_related("clinic", "user")

    @extend_schema(request=PatientInputSerializer, responses={201: PatientOutputSerializer})
    def post(self, request):
        data = PatientInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        patient = patient_create(created_by=request.user, **data.validated_data)
        return Response(PatientOutputSerializer(patient).data, status=status.HTTP_201_CREATED)


class PatientDetailView(AuditedReadMixin, generics.RetrieveAPIView):
    permission_classes = [IsPatientOrClinicalUser]
    serializer_class = PatientOutputSerializer

    def get_queryset(self):
        return patients_visible_to(user=self.request.user).select_related("clinic", "user")


class PatientMeView(APIView):
    permission_classes = [IsPatient]

    @extend_schema(responses={200: PatientOutputSerializer})
    def get(self, request):
        patient = patient_of_user(user=request.user)
        if patient is None:
            raise NotFound("No patient record belongs to this login.")
        audit_read(user=request.user, objects=[patient], request=request)
        return Response(PatientOutputSerializer(patient).data)


class RegisterView(APIView):
    """A patient signs up from the mobile app. Throttled per IP (scope `register`)."""

    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [ScopedRateThrottle, AnonRateThrottle]
    throttle_scope = "register"

    @extend_schema(request=RegisterInputSerializer, responses={201: PatientOutputSerializer})
    def post(self, request):
        data = RegisterInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        patient = patient_register(**data.validated_data)
        return Response(PatientOutputSerializer(patient).data, status=status.HTTP_201_CREATED)
