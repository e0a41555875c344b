"""Writes of the triage domain: intake, evaluation, re-triage and overrides."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import User
from audit.actions import audit_writes_batched
from common.errors import ApplicationError, Conflict
from notifications.actions import escalation_acknowledge_by_override, escalation_open
from patients.models import Patient
from referrals.actions import referrals_propose, referrals_reprioritise

from .models import Assessment, AssessmentStatus, Evaluation, Urgency
from .rules import CURRENT_RULESET, Ruleset, TriageResult, advice_text, evaluate, get_ruleset, validate_answers

logger = logging.getLogger(__name__)


class AnswersInvalid(ApplicationError):
    """Every offending answer code, named under `answers`."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("The answers are not valid.", code="invalid_answers", field="answers", details=dict(errors))


class NotTriagedYet(Conflict):
    """The worker's first result comes before a clinician's re-triage: it may have paged already."""

    def __init__(self) -> None:
        super().__init__("This assessment is not triaged yet.", code="not_triaged", field="assessment")


def assessment_submit(*, submitted_by: User, patient: Patient, answers: object) -> Assessment:
    """Store a valid assessment and have a worker triage it once the transaction commits."""
    errors = validate_answers(answers)
    if errors:
        raise AnswersInvalid(errors)
    now = timezone.now()
    assessment = Assessment(
        patient=patient, clinic_id=patient.clinic_id, submitted_by=submitted_by, submitted_at=now, answers=answers,
        last_enqueued_at=now, enqueue_attempts=1,
    )
    queue = triage_queue(assessment)
    assessment.queued_with_red_flags = queue == settings.RED_FLAG_QUEUE  # for the red flags' pending sweep
    with transaction.atomic():
        assessment.save(force_insert=True)
        transaction.on_commit(lambda: enqueue_triage(assessment=assessment, queue=queue))
    return assessment


def enqueue_triage(*, assessment: Assessment, queue: str | None = None) -> bool:
    """Hand the assessment to a worker, an emergency ahead of the rest; if the broker is down, the sweep will.

    `queue` is `triage_queue`'s, when the caller has it already.
    """
    from .tasks import triage_assessment

    try:
        triage_assessment.apply_async((str(assessment.pk),), queue=queue or triage_queue(assessment))
    except Exception:  # any broker error: the assessment is stored, the sweep re-enqueues it
        logger.warning("triage not enqueued; the pending sweep will retry", extra={"assessment_id": str(assessment.pk)})
        return False
    return True


def triage_queue(assessment: Assessment) -> str:
    """The red flags' queue for an emergency, so none waits behind a backlog; the default queue for the rest.

    An emergency: answers the current ruleset calls one, an assessment queued
    with the red flags at submission, or one paged already (its result lost).
    Only the queue is chosen here (the rules take 11 µs); the result is
    the worker's, under the ruleset it runs. Answers that cannot be evaluated
    here go to the red flags' queue too: the safer reading, until a worker says
    what is wrong with them.
    """
    if assessment.urgency == Urgency.EMERGENCY or assessment.queued_with_red_flags:  # whatever the ruleset says now
        return settings.RED_FLAG_QUEUE
    try:
        urgency = _evaluate(assessment, CURRENT_RULESET).urgency
    except Exception:  # a routing error must not lose the submission, nor put it at the back
        logger.exception("triage queue not chosen; the red flags' queue takes it",
                         extra={"assessment_id": str(assessment.pk)})
        return settings.RED_FLAG_QUEUE
    return settings.RED_FLAG_QUEUE if urgency == Urgency.EMERGENCY else settings.CELERY_TASK_DEFAULT_QUEUE


def enqueue_triage_result(*, assessment_id: uuid.UUID, ruleset_version: str) -> bool:
    """Have another worker write the result of an emergency just paged, under the ruleset that paged it.

    One attempt, no retries: this worker's SMS waits behind it, and the pending
    sweep writes a result whose task never reached the broker.
    """
    from .tasks import write_triage_result

    try:
        write_triage_result.apply_async((str(assessment_id), ruleset_version), retry=False)
    except Exception:  # any broker error: the assessment stays pending, the sweep re-enqueues its triage
        logger.warning("triage result not enqueued; the pending sweep will retry",
                       extra={"assessment_id": str(assessment_id)})
        return False
    return True


def assessment_triage(
    *, assessment_id: uuid.UUID, ruleset_version: str | None = None, escalation_opened: bool = False
) -> Evaluation:
    """Evaluate an assessment under a ruleset, once: a second call returns the same evaluation.

    The result, its referrals and (for an emergency) the escalation are written in
    one transaction, so that none exists without the others; but see
    `assessment_triage_paging_first`, the triage worker's, which pages a pending
    emergency first and leaves its result to this (`escalation_opened`: nothing
    to open, not even to look up).
    """
    ruleset = get_ruleset(ruleset_version) if ruleset_version else CURRENT_RULESET
    with transaction.atomic(), audit_writes_batched():
        return _triage_locked(assessment=_locked_for_triage(assessment_id), ruleset=ruleset,
                              escalation_opened=escalation_opened)


def assessment_triage_paging_first(*, assessment_id: uuid.UUID) -> Evaluation | None:
    """The triage worker's: as `assessment_triage`, but a pending emergency is paged before its result is written.

    The page is the hot path of an emergency. Its escalation and tier-1 pages
    commit with the assessment's urgency, nothing else; then this worker hands
    the result (evaluation, referrals: about 40 % of the triage's writes) to
    another worker, the emails to others, and sends the SMS itself (see
    `notifications.actions.escalation_open`): the result waits neither for the
    SMS nor for Twilio. Until the result commits the assessment is pending, so a
    result lost on the way (the broker down, a worker killed) is the pending
    sweep's, whose run finds the escalation open and pages nobody twice.
    Returns the evaluation, or None when the result is left to the other task.
    """
    with transaction.atomic(), audit_writes_batched():
        assessment = _locked_for_triage(assessment_id)
        if assessment.status == AssessmentStatus.PENDING and (
            _evaluate(assessment, CURRENT_RULESET).urgency == Urgency.EMERGENCY
        ):
            _page_before_the_result(assessment=assessment, ruleset=CURRENT_RULESET)
            return None
        return _triage_locked(assessment=assessment, ruleset=CURRENT_RULESET)


def _locked_for_triage(assessment_id: uuid.UUID) -> Assessment:
    return Assessment.objects.select_for_update().select_related("patient").get(pk=assessment_id)


def _triage_locked(*, assessment: Assessment, ruleset: Ruleset, escalation_opened: bool = False) -> Evaluation:
    # Only a triage gives a result, and it leaves the assessment triaged: a pending one has none to look up.
    first_result = assessment.status == AssessmentStatus.PENDING
    if not first_result:
        existing = assessment.evaluations.filter(ruleset_version=ruleset.version).first()
        if existing is not None:
            return existing
    evaluation = _evaluation_create(assessment=assessment, result=_evaluate(assessment, ruleset))
    _assessment_adopt(assessment=assessment, evaluation=evaluation)
    _follow_effective_urgency(assessment=assessment, evaluation=evaluation, by=None, first_result=first_result,
                              escalation_opened=escalation_opened)
    return evaluation


def _page_before_the_result(*, assessment: Assessment, ruleset: Ruleset) -> None:
    """The urgency, recorded (the contract shows an escalation only beside an emergency), and the escalation.

    Once this commits, the result's task is enqueued before the pages are
    dispatched (on_commit callbacks run in the order they were registered): the
    result waits neither for the SMS nor for Twilio. The pending sweep's grace
    starts again from this hand-over.
    """
    assessment.urgency = Urgency.EMERGENCY  # set already on a run after a lost result; saved for the new hand-over
    assessment.last_enqueued_at = timezone.now()
    assessment.save(update_fields=["urgency", "last_enqueued_at", "updated_at"])
    transaction.on_commit(lambda: enqueue_triage_result(assessment_id=assessment.pk, ruleset_version=ruleset.version))
    escalation_open(assessment=assessment, send_sms_here=True)


def assessment_retriage(*, assessment: Assessment, ruleset_version: str, by: User) -> Evaluation:
    """Re-triage under another ruleset version; the earlier result is kept beside the new one."""
    try:
        get_ruleset(ruleset_version)
    except KeyError as error:
        raise ApplicationError(f"Unknown ruleset version {ruleset_version!r}.", field="ruleset_version") from error
    if assessment.evaluations.filter(ruleset_version=ruleset_version).exists():
        raise Conflict(
            f"This assessment already has a result under ruleset {ruleset_version}.", field="ruleset_version"
        )
    with transaction.atomic():
        assessment = _locked_for_triage(assessment.pk)
        if assessment.status == AssessmentStatus.PENDING:  # the worker's result would replace this one
            raise NotTriagedYet
        result = _evaluate(assessment, get_ruleset(ruleset_version))
        evaluation = _evaluation_create(assessment=assessment, result=result)
        _assessment_adopt(assessment=assessment, evaluation=evaluation)
        _follow_effective_urgency(assessment=assessment, evaluation=evaluation, by=by)
    return evaluation


def evaluation_override(*, evaluation: Evaluation, urgency: str, reason: str, by: User) -> Evaluation:
    """A clinician sets the urgency that drives what follows; the computed one stays beside it."""
    if urgency not in Urgency.values:
        raise ApplicationError(f"Unknown urgency {urgency!r}.", field="urgency")
    if not reason.strip():
        raise ApplicationError("Say why the urgency is overridden.", field="reason")
    with transaction.atomic():
        evaluation = Evaluation.objects.select_for_update().select_related("assessment").get(pk=evaluation.pk)
        assessment = evaluation.assessment
        if assessment.current_evaluation_id != evaluation.pk:
            raise Conflict("Only the current result of an assessment can be overridden.", field="evaluation")
        evaluation.override_urgency = urgency
        evaluation.override_reason = reason.strip()
        evaluation.overridden_by = by
        evaluation.overridden_at = timezone.now()
        evaluation.save(update_fields=["override_urgency", "override_reason", "overridden_by", "overridden_at",
                                       "updated_at"])
        assessment.urgency = evaluation.effective_urgency
        assessment.save(update_fields=["urgency", "updated_at"])
        _follow_effective_urgency(assessment=assessment, evaluation=evaluation, by=by)
    return evaluation


def assessments_requeue_pending(*, older_than_seconds: int, limit: int = 500) -> int:
    """Re-enqueue assessments whose triage was never enqueued or never ran (broker down, worker killed).

    Its task runs from the default queue, behind whatever triage waits there:
    an assessment it finds pending was lost, not queued (its grace outlived,
    it was enqueued before the sweep). The red flags' are re-enqueued sooner
    by `emergencies_requeue_pending`.
    """
    return _requeue_pending(older_than_seconds=older_than_seconds, limit=limit)


def emergencies_requeue_pending(*, older_than_seconds: int, limit: int = 500) -> int:
    """As `assessments_requeue_pending`, for the red flags only, from their queue: never behind a routine backlog.

    The red flags are those queued with them at submission and those paged
    already; a lost assessment that only a later ruleset calls an emergency is
    the other sweep's, which sends it to the red flags' queue.
    """
    return _requeue_pending(older_than_seconds=older_than_seconds, limit=limit,
                            among=Q(queued_with_red_flags=True) | Q(urgency=Urgency.EMERGENCY))


def _requeue_pending(*, older_than_seconds: int, limit: int, among: Q | None = None) -> int:
    now = timezone.now()
    cutoff = now - timezone.timedelta(seconds=older_than_seconds)
    stale = Assessment.objects.filter(status=AssessmentStatus.PENDING, submitted_at__lt=cutoff,
                                      last_enqueued_at__lt=cutoff)
    if among is not None:
        stale = stale.filter(among)
    requeued = 0
    # The fields `triage_queue` reads, for the queue each goes back to.
    for assessment in stale.order_by("submitted_at").only(
        "pk", "answers", "submitted_at", "urgency", "queued_with_red_flags"
    )[:limit]:
        claimed = Assessment.objects.filter(
            pk=assessment.pk, status=AssessmentStatus.PENDING, last_enqueued_at__lt=cutoff
        ).update(last_enqueued_at=now, enqueue_attempts=F("enqueue_attempts") + 1)
        if claimed and enqueue_triage(assessment=assessment):
            requeued += 1
    return requeued


def _evaluate(assessment: Assessment, ruleset: Ruleset) -> TriageResult:
    return evaluate(assessment.answers, submitted_on=timezone.localdate(assessment.submitted_at), ruleset=ruleset)


def _evaluation_create(*, assessment: Assessment, result: TriageResult) -> Evaluation:
    language = assessment.patient.language
    data = result.as_dict()
    return Evaluation.objects.create(
        assessment=assessment, ruleset_version=result.ruleset_version, evaluated_at=timezone.now(),
        urgency=result.urgency, red_flags=data["red_flags"], likely_origin=data["likely_origin"],
        recommended_specialties=data["recommended_specialties"], recommended_tests=data["recommended_tests"],
        rules_fired=data["rules_fired"], advice=advice_text(result, language), language=language,
    )


def _assessment_adopt(*, assessment: Assessment, evaluation: Evaluation) -> None:
    assessment.current_evaluation = evaluation
    assessment.urgency = evaluation.effective_urgency
    assessment.status = AssessmentStatus.TRIAGED
    assessment.triaged_at = assessment.triaged_at or evaluation.evaluated_at
    assessment.save(update_fields=["current_evaluation", "urgency", "status", "triaged_at", "updated_at"])


def _follow_effective_urgency(
    *, assessment: Assessment, evaluation: Evaluation, by: User | None, first_result: bool = False,
    escalation_opened: bool = False,
) -> None:
    """The effective urgency drives referrals and paging, in the caller's transaction."""
    urgency = evaluation.effective_urgency
    if not first_result:  # a first result has no referrals yet to re-prioritise
        referrals_reprioritise(assessment=assessment, priority=urgency)
    referrals_propose(
        assessment=assessment, recommended_specialties=list(evaluation.recommended_specialties),
        priority=urgency, by=by, first_result=first_result,
    )
    if urgency == Urgency.EMERGENCY:
        if not escalation_opened:  # (opening it again would find it, after a failed insert and a savepoint)
            escalation_open(assessment=assessment)
    elif by is not None:
        # A clinician who lowers an emergency has taken the case: the page stops with them.
        escalation_acknowledge_by_override(assessment=assessment, by=by)
