"""Which models hold patient data, and how to tell the patient an instance concerns.

Each domain app registers its own models in its `AppConfig.ready()`:

    audited(Assessment, patient_id=lambda assessment: assessment.patient_id)

Writes to a registered model that has django-simple-history are recorded
automatically; reads are recorded where a view calls `audit_read`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from django.db import models

PatientOf = Callable[[models.Model], uuid.UUID | None]

_patient_of: dict[type[models.Model], PatientOf] = {}


def audited(model: type[models.Model], *, patient_id: PatientOf) -> None:
    _patient_of[model] = patient_id


def is_audited(model: type[models.Model]) -> bool:
    return model in _patient_of


def patient_id_of(obj: models.Model) -> uuid.UUID | None:
    try:
        resolve = _patient_of[type(obj)]
    except KeyError:
        raise LookupError(
            f"{obj._meta.label} is not registered for auditing: call audit.registry.audited() in its app's ready()."
        ) from None
    return resolve(obj)
