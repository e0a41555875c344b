from datetime import date

import factory

from accounts.models import Clinic, Role, User
from patients.models import Patient

PASSWORD = "Correct-Horse-Battery-9"


class ClinicFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Clinic
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Clinic {n}")
    slug = factory.Sequence(lambda n: f"clinic-{n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.org")
    role = Role.STAFF
    clinic = factory.SubFactory(ClinicFactory)
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def saved(user, create, extracted, **kwargs):
        if create:
            user.save()


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    clinic = factory.SubFactory(ClinicFactory)
    first_name = "Ana"
    last_name = factory.Sequence(lambda n: f"García {n}")
    date_of_birth = date(1970, 5, 17)
    phone = factory.Sequence(lambda n: f"+3461{n:07d}")
    email = factory.Sequence(lambda n: f"patient{n}@example.org")
    language = "en"


def answers(**changes) -> dict:
    """A valid, long-standing, stable foot drop: routine unless changed."""
    base = {
        "age": 45, "affected_side": "left", "days_since_onset": 120, "onset_speed": "gradual",
        "course": "stable", "foot_lift": "weak", "urinary_retention": False, "incontinence": False,
        "saddle_numbness": False,
    }
    return {**base, **changes}


ROUTINE = answers()
URGENT = answers(days_since_onset=30, back_pain=True, sciatica=True, pain_score=4)
EMERGENCY = answers(days_since_onset=2, urinary_retention=True, saddle_numbness=True, back_pain=True)
