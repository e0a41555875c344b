"""The floor of `bench/intake`: the least an authenticated write through this stack can cost.

It goes through the same middleware, JWT authentication, throttles, JSON
parser and renderer as every API view, validates a small body and inserts one
row. `services/urls.py` routes it only when the setting `BENCH_ENDPOINTS` is on.
"""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from .models import BenchProbe
from .serializers import ModelSerializer, StrictCharField, StrictSerializer


class BenchProbeInputSerializer(StrictSerializer):
    name = StrictCharField(max_length=64)
    value = serializers.IntegerField(min_value=0, max_value=1_000_000)


class BenchProbeOutputSerializer(ModelSerializer):
    class Meta:
        model = BenchProbe
        fields = ["id", "name", "value", "created_at"]


class BenchProbeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=BenchProbeInputSerializer, responses={201: BenchProbeOutputSerializer})
    def post(self, request):
        data = BenchProbeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        probe = BenchProbe.objects.create(**data.validated_data)
        return Response(BenchProbeOutputSerializer(probe).data, status=status.HTTP_201_CREATED)
