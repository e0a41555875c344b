from django import template

from common.object_urls import object_url as _object_url

register = template.Library()


@register.simple_tag
def object_url(viewname: str, key: object) -> str:
    """`{% object_url 'admin:patients_patient_change' patient.pk %}`: `{% url %}`'s answer, for rows of a long list."""
    return _object_url(viewname, key)
