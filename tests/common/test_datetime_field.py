"""Datetimes in API representations: rendered in the zone current for each response, looked up once per field."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from django.utils import timezone
from rest_framework import serializers

from accounts.models import Clinic
from common.serializers import DateTimeField, ModelSerializer

NOON_UTC = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


class Appointment(serializers.Serializer):
    at = DateTimeField()


class ClinicDates(ModelSerializer):
    class Meta:
        model = Clinic
        fields = ["created_at"]


def test_each_serializer_renders_in_the_zone_current_when_it_renders():
    assert Appointment({"at": NOON_UTC}).data["at"] == "2026-01-05T12:00:00Z"
    with timezone.override(ZoneInfo("Europe/Madrid")):
        assert Appointment({"at": NOON_UTC}).data["at"] == "2026-01-05T13:00:00+01:00"
    assert Appointment({"at": NOON_UTC}).data["at"] == "2026-01-05T12:00:00Z"


def test_a_list_looks_the_zone_up_once_for_all_its_rows(monkeypatch):
    looked_up = []
    real = serializers.DateTimeField.default_timezone
    monkeypatch.setattr(serializers.DateTimeField, "default_timezone",
                        lambda field: looked_up.append(field) or real(field))

    rows = Appointment([{"at": NOON_UTC}] * 50, many=True).data

    assert [row["at"] for row in rows] == ["2026-01-05T12:00:00Z"] * 50
    assert len(looked_up) == 1


def test_model_serializers_render_model_datetimes_with_it():
    assert isinstance(ClinicDates().fields["created_at"], DateTimeField)
