from django.db import models
from rest_framework import serializers


class DateTimeField(serializers.DateTimeField):
    """DRF's, looking up the current time zone once per field of a serializer instead of once per value.

    A list page renders hundreds of datetimes (a page of escalations about 500), and each look-up goes
    through asgiref's context-local storage. A serializer's fields are built for each serializer
    instance, so the zone kept is the one current for this response.
    """

    def default_timezone(self):
        try:
            return self._zone_of_this_response
        except AttributeError:
            self._zone_of_this_response = super().default_timezone()
            return self._zone_of_this_response


# DRF's, with the model's datetimes rendered by `DateTimeField` above. (No docstring: drf-spectacular would
# take it for the description of every serializer built on this one.)
class ModelSerializer(serializers.ModelSerializer):
    serializer_field_mapping = {**serializers.ModelSerializer.serializer_field_mapping,
                                models.DateTimeField: DateTimeField}


class StrictFieldsMixin:
    """Refuse fields the serializer does not know, naming each, instead of ignoring them."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            known = {name for name, field in self.fields.items() if not field.read_only}
            unknown = sorted(set(data) - known)
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


class StrictSerializer(StrictFieldsMixin, serializers.Serializer):
    pass


class StrictModelSerializer(StrictFieldsMixin, ModelSerializer):
    pass


class StrictCharField(serializers.CharField):
    """A JSON string and nothing else: 123 or true is not a name."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictEmailField(serializers.EmailField):
    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)
