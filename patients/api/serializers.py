from phonenumber_field.serializerfields import PhoneNumberField
from rest_framework import serializers

from common.serializers import ModelSerializer, StrictCharField, StrictEmailField, StrictSerializer

from ..models import Language, Patient


class E164PhoneField(PhoneNumberField):
    default_error_messages = {"invalid": "Enter a valid phone number in E.164 form, e.g. +34612345678."}

    def to_internal_value(self, data):
        if not isinstance(data, str) or not data.startswith("+"):
            self.fail("invalid")
        return super().to_internal_value(data)


class PatientInputSerializer(StrictSerializer):
    first_name = StrictCharField(max_length=150)
    last_name = StrictCharField(max_length=150)
    date_of_birth = serializers.DateField()
    phone = E164PhoneField()
    email = StrictEmailField()
    language = serializers.ChoiceField(choices=Language.choices)
    external_id = StrictCharField(max_length=64, required=False, allow_blank=True)


class RegisterInputSerializer(PatientInputSerializer):
    username = StrictCharField(max_length=150)
    password = StrictCharField(max_length=128, write_only=True, trim_whitespace=False)
    external_id = None


class PatientOutputSerializer(ModelSerializer):
    phone = serializers.CharField(source="phone.as_e164", read_only=True)
    clinic = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    username = serializers.CharField(source="user.username", read_only=True, allow_null=True, default=None)

    class Meta:
        model = Patient
        fields = [
            "id", "first_name", "last_name", "date_of_birth", "phone", "email", "language",
            "external_id", "clinic", "username", "created_at",
        ]
        read_only_fields = fields
