from __future__ import annotations

from datetime import date

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction

from accounts.models import Clinic, Role, User
from accounts.selectors import clinic_default
from common.errors import ApplicationError

from .models import Patient


def patient_create(
    *,
    created_by: User,
    first_name: str,
    last_name: str,
    date_of_birth: date,
    phone: str,
    email: str,
    language: str,
    external_id: str = "",
    clinic: Clinic | None = None,
    user: User | None = None,
) -> Patient:
    if date_of_birth > date.today():
        raise ApplicationError("The date of birth is in the future.", field="date_of_birth")
    clinic = clinic or created_by.clinic or clinic_default()
    try:
        with transaction.atomic():
            patient = Patient(
                clinic=clinic, user=user, first_name=first_name, last_name=last_name,
                date_of_birth=date_of_birth, phone=phone, email=email, language=language,
                external_id=external_id or "", created_by=created_by,
            )
            # Who, for the history and the audit trail, also when the request had no login (registration).
            patient._history_user = created_by
            patient.save(force_insert=True)
            return patient
    except IntegrityError as error:
        raise ApplicationError(
            "A patient with this external id already exists in the clinic.", code="duplicate", field="external_id"
        ) from error


@transaction.atomic
def patient_register(
    *,
    username: str,
    password: str,
    first_name: str,
    last_name: str,
    date_of_birth: date,
    phone: str,
    email: str,
    language: str,
) -> Patient:
    """A patient signs up from the mobile app: a login and their record, together or not at all."""
    if User.objects.filter(username__iexact=username).exists():
        raise ApplicationError("This username is taken.", code="duplicate", field="username")
    candidate = User(username=username, first_name=first_name, last_name=last_name, email=email)
    try:
        validate_password(password, user=candidate)
    except DjangoValidationError as error:
        raise ApplicationError(" ".join(error.messages), code="weak_password", field="password") from error
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                username=username, password=password, first_name=first_name, last_name=last_name,
                email=email, role=Role.PATIENT, clinic=clinic_default(),
            )
    except IntegrityError as error:
        raise ApplicationError("This username is taken.", code="duplicate", field="username") from error
    return patient_create(
        created_by=user, first_name=first_name, last_name=last_name, date_of_birth=date_of_birth,
        phone=phone, email=email, language=language, clinic=user.clinic, user=user,
    )
