"""The OpenAPI schema is valid, complete for the code here, and documents errors as they are sent."""

import pytest
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

# The apps whose schema this suite answers for; others are reported by their own tests.
OWN_APPS = ("accounts/", "patients/", "triage/", "common/", "audit/")


@pytest.fixture(scope="module")
def generated():
    GENERATOR_STATS.reset()
    schema = SchemaGenerator().get_schema(request=None, public=True)
    problems = [*GENERATOR_STATS._warn_cache, *GENERATOR_STATS._error_cache]
    GENERATOR_STATS.reset()
    return schema, problems


def test_the_schema_is_valid_openapi(generated):
    schema, _ = generated

    validate_schema(schema)


def test_the_schema_has_no_warning_or_error_from_these_apps(generated):
    _, problems = generated

    own = [problem for problem in problems if any(f"/{app}" in problem for app in OWN_APPS)]
    unattributed = [problem for problem in problems if ".py:" not in problem]
    assert own == []
    assert unattributed == []


def test_errors_are_documented_as_problem_details(generated):
    schema, _ = generated
    operation = schema["paths"]["/api/v1/patients/{id}/"]["get"]

    assert {"200", "401", "403", "404", "429"} <= set(operation["responses"])
    assert operation["responses"]["404"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ProblemDetails"
    }
    problem = schema["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"code", "detail", "attr"}


def test_the_token_endpoint_documents_its_401_and_429(generated):
    schema, _ = generated

    assert {"200", "400", "401", "429"} <= set(schema["paths"]["/api/v1/auth/token/"]["post"]["responses"])


def test_list_filters_are_documented(generated):
    schema, _ = generated
    names = {parameter["name"] for parameter in schema["paths"]["/api/v1/assessments/"]["get"]["parameters"]}

    assert {"urgency", "status", "patient", "page", "page_size"} <= names
