"""Staff's admin: partners (secrets shown once), referrals and their moves, the board, the partner-event inbox,
deliveries.

Every change of a referral's status here goes through referrals.actions with
source=admin, exactly as the API does; no status field is editable directly.
Staff see their clinic's referrals only (referrals.selectors.referrals_visible_to).
"""

from __future__ import annotations

from collections.abc import Iterable

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpResponseRedirect
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import SafeString
from simple_history.admin import SimpleHistoryAdmin

from audit.actions import audit_read
from audit.mixins import AuditedAdminMixin
from common.admin import PlainActionCheckboxMixin, ScopedAdminMixin
from common.errors import ApplicationError
from dashboard.selectors import referrals_board, sla_clock, webhook_events_visible_to

from . import actions
from .models import (
    ChangeSource,
    DeclineReason,
    DeliveryStatus,
    Partner,
    PartnerWebhookEvent,
    Referral,
    ReferralEvent,
    ReferralStatus,
    Specialty,
    WebhookDelivery,
    WebhookDeliveryAttempt,
    WebhookOutcome,
)
from .selectors import overdue_q, referrals_visible_to
from .state import TRANSITIONS
from .webhooks.inbound import partner_webhook_event_dismiss, partner_webhook_event_replay
from .webhooks.outbound import webhook_delivery_retry

S = ReferralStatus


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


def _secret_page(admin_site, request, partner: Partner, secret: str, what: str) -> TemplateResponse:
    """The one time a secret is shown: rendered, never stored in a message, cookie or session."""
    response = TemplateResponse(request, "admin/referrals/partner/secret_once.html", {
        **admin_site.each_context(request), "title": f"Webhook secret of {partner.name}", "partner": partner,
        "secret": secret, "what": what, "opts": Partner._meta,
        "change_url": reverse("admin:referrals_partner_change", args=[partner.pk]),
    })
    response["Cache-Control"] = "no-store"
    return response


# --------------------------------------------------------------------------- partners

class PartnerForm(forms.ModelForm):
    specialties = forms.MultipleChoiceField(choices=Specialty.choices, widget=forms.CheckboxSelectMultiple)
    webhook_url = forms.URLField(required=False, assume_scheme="https",
                                 help_text="Where referral.created and referral.cancelled events are delivered.")

    class Meta:
        model = Partner
        fields = ["name", "slug", "specialties", "webhook_url", "active", "accounts"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.instance._state.adding:
            self.fields["slug"].disabled = True  # partners post to a URL that holds it


@admin.register(Partner)
class PartnerAdmin(SimpleHistoryAdmin):
    form = PartnerForm
    list_display = ["name", "slug", "active", "specialty_list", "webhook_url", "secret_rotated_at"]
    list_filter = ["active"]
    search_fields = ["name", "slug"]
    readonly_fields = ["webhook_secret", "created_at", "updated_at"]
    filter_horizontal = ["accounts"]

    @admin.display(description="Specialties")
    def specialty_list(self, partner: Partner) -> str:
        return ", ".join(partner.specialties or [])

    @admin.display(description="Webhook secret")
    def webhook_secret(self, partner: Partner) -> str:
        if partner._state.adding:
            return "Made when the partner is saved, and shown once."
        return format_html(
            'Stored encrypted; never shown again. <a class="button" href="{}">Rotate the secret…</a>',
            reverse("admin:referrals_partner_rotate_secret", args=[partner.pk]),
        )

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:
            request._new_partner_secret = actions.partner_rotate_secret(partner=obj)

    def response_add(self, request, obj, post_url_continue=None):
        secret = getattr(request, "_new_partner_secret", None)
        if secret:
            return _secret_page(self.admin_site, request, obj, secret, "made")
        return super().response_add(request, obj, post_url_continue)

    def get_urls(self):
        rotate = self.admin_site.admin_view(self.rotate_secret_view)
        return [path("<path:object_id>/rotate-secret/", rotate, name="referrals_partner_rotate_secret"),
                *super().get_urls()]

    def rotate_secret_view(self, request, object_id):
        partner = get_object_or_404(Partner, pk=object_id)
        if not self.has_change_permission(request, partner):
            raise PermissionDenied
        if request.method == "POST":
            secret = actions.partner_rotate_secret(partner=partner)
            return _secret_page(self.admin_site, request, partner, secret, "rotated")
        return TemplateResponse(request, "admin/referrals/partner/rotate_confirm.html", {
            **self.admin_site.each_context(request), "title": f"Rotate the webhook secret of {partner.name}",
            "partner": partner, "opts": Partner._meta,
        })


# --------------------------------------------------------------------------- referrals

class ReferralEventInline(ReadOnlyInline):
    model = ReferralEvent
    fields = ["at", "from_status", "to_status", "by", "source", "note", "webhook_event"]
    readonly_fields = fields
    verbose_name_plural = "History"


class WebhookDeliveryInline(ReadOnlyInline):
    model = WebhookDelivery
    fields = ["event_type", "status", "attempts", "next_attempt_at", "delivered_at", "last_error"]
    readonly_fields = fields
    show_change_link = True


class PartnerWebhookEventInline(ReadOnlyInline):
    model = PartnerWebhookEvent
    fields = ["received_at", "event_type", "outcome", "status_code", "detail"]
    readonly_fields = fields
    show_change_link = True
    verbose_name_plural = "Partner events"


class MOVES:
    SEND, ACCEPT, DECLINE, SCHEDULE, COMPLETE, NO_SHOW, CANCEL, RESEND = (
        "send", "accept", "decline", "schedule", "complete", "no_show", "cancel", "resend")
    TARGET = {SEND: S.SENT, ACCEPT: S.ACCEPTED, DECLINE: S.DECLINED, SCHEDULE: S.SCHEDULED,
              COMPLETE: S.COMPLETED, NO_SHOW: S.NO_SHOW, CANCEL: S.CANCELLED}
    LABEL = {SEND: "Send to a partner", ACCEPT: "Accepted by the partner (told by phone, letter...)",
             DECLINE: "Declined by the partner", SCHEDULE: "Appointment booked (or moved)",
             COMPLETE: "Seen: completed", NO_SHOW: "The patient did not attend", CANCEL: "Cancel the referral",
             RESEND: "Re-send to another partner (a new referral)"}


def moves_from(referral: Referral) -> list[tuple[str, str]]:
    """The moves the status machine allows from this referral's status, as form choices."""
    allowed = TRANSITIONS[referral.status]
    choices = [(move, MOVES.LABEL[move]) for move, target in MOVES.TARGET.items() if target in allowed]
    if referral.status == S.DECLINED and referral.needs_resend:
        choices.append((MOVES.RESEND, MOVES.LABEL[MOVES.RESEND]))
    return choices


class ReferralMoveForm(forms.Form):
    move = forms.ChoiceField(widget=forms.RadioSelect)
    partner = forms.ModelChoiceField(queryset=Partner.objects.filter(active=True), required=False,
                                     help_text="For send and re-send: an active partner taking this specialty.")
    appointment_at = forms.DateTimeField(required=False, help_text="For an appointment (server time zone).")
    partner_reference = forms.CharField(max_length=100, required=False, help_text="For accepted.")
    reason_code = forms.ChoiceField(choices=[("", "—"), *DeclineReason.choices], required=False,
                                    help_text="For declined.")
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False,
                             help_text="Why: required to decline or cancel.")
    outcome = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, help_text="For completed.")
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False,
                           help_text="Anything else for the history.")

    def __init__(self, *args, referral: Referral, **kwargs):
        super().__init__(*args, **kwargs)
        self.referral = referral
        self.fields["move"].choices = moves_from(referral)
        self.fields["partner"].queryset = Partner.objects.filter(
            active=True, specialties__contains=[referral.specialty]
        ) if _json_contains_supported() else Partner.objects.filter(active=True)

    def apply(self, *, by) -> Referral:
        """Run the chosen move through referrals.actions; refusals come back as form errors."""
        data, referral = self.cleaned_data, self.referral
        common = {"referral": referral, "by": by, "source": ChangeSource.ADMIN}
        move = data["move"]
        if move == MOVES.SEND:
            return actions.referral_send(partner=data["partner"] or "", note=data["note"], **common)
        if move == MOVES.RESEND:
            return actions.referral_resend(partner=data["partner"] or "", **common)
        if move == MOVES.ACCEPT:
            return actions.referral_accept(partner_reference=data["partner_reference"], note=data["note"], **common)
        if move == MOVES.DECLINE:
            return actions.referral_decline(reason=data["reason"], reason_code=data["reason_code"] or "other",
                                            note=data["note"], **common)
        if move == MOVES.SCHEDULE:
            if not data["appointment_at"]:
                raise ApplicationError("When is the appointment?", field="appointment_at")
            return actions.referral_schedule(appointment_at=data["appointment_at"], note=data["note"], **common)
        if move == MOVES.COMPLETE:
            return actions.referral_complete(outcome=data["outcome"], note=data["note"], **common)
        if move == MOVES.NO_SHOW:
            return actions.referral_mark_no_show(note=data["note"], **common)
        return actions.referral_cancel(reason=data["reason"], **common)


def _option_tags(choices: Iterable[tuple[object, str]], *, selected: str | None = None) -> SafeString:
    """The `<option>`s of (value, label) pairs, escaped, `selected` marked."""
    return format_html_join("", '<option value="{}"{}>{}</option>',
                            ((value, " selected" if value == selected else "", label) for value, label in choices))


def _json_contains_supported() -> bool:
    from django.db import connection

    return connection.features.supports_json_field_contains


class OverdueFilter(admin.SimpleListFilter):
    title = "SLA"
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("yes", "Overdue now"), ("resend", "Declined, to re-send")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(overdue_q(now=timezone.now()))
        if self.value() == "resend":
            return queryset.filter(needs_resend=True)
        return queryset


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))


def _ask_reason(modeladmin, request, queryset, *, action: str, title: str, question: str):
    """An admin action's intermediate page: None once a reason was posted (use form.cleaned_data)."""
    form = ReasonForm(request.POST if "apply" in request.POST else None)
    if "apply" in request.POST and form.is_valid():
        return None, form.cleaned_data["reason"]
    return TemplateResponse(request, "admin/referrals/ask_reason.html", {
        **modeladmin.admin_site.each_context(request), "title": title, "question": question, "form": form,
        "objects": queryset, "action": action, "action_checkbox_name": ACTION_CHECKBOX_NAME,
        "opts": modeladmin.model._meta,
    }), None


@admin.register(Referral)
class ReferralAdmin(AuditedAdminMixin, ScopedAdminMixin, PlainActionCheckboxMixin, SimpleHistoryAdmin):
    visible_to = staticmethod(referrals_visible_to)
    list_display = ["short_id", "patient", "specialty", "priority_badge", "status", "partner", "due_by", "sla_column",
                    "needs_resend", "appointment_at", "created_at"]
    list_filter = [OverdueFilter, "status", "specialty", "priority", "needs_resend", "partner"]
    search_fields = ["=id", "=patient__id", "partner_reference", "patient__last_name", "patient__first_name",
                     "=patient__external_id"]
    date_hierarchy = "created_at"
    show_full_result_count = False  # a filtered page counts its rows once, not the whole table again
    list_select_related = ["partner", "patient"]
    inlines = [ReferralEventInline, PartnerWebhookEventInline, WebhookDeliveryInline]
    actions = ["cancel_selected", "take_off_resend_worklist"]
    fields = ["move_link", "assessment", "patient", "specialty", "priority", "status", "partner", "sla_clock",
              "clock_started_at", "due_by", "overdue_since", "overdue_notified_at", "appointment_at", "sent_at",
              "partner_reference", "decline_reason_code", "decline_reason", "needs_resend", "outcome",
              "cancel_reason", "resent_from", "created_at", "updated_at"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False  # referrals come from triage (or a re-send)

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Id")
    def short_id(self, referral: Referral) -> str:
        return str(referral.pk)[:8]

    @admin.display(description="Priority", ordering="priority")
    def priority_badge(self, referral: Referral) -> str:
        return format_html('<span class="badge badge-{}">{}</span>', referral.priority, referral.get_priority_display())

    @admin.display(description="SLA", ordering="due_by")
    def sla_column(self, referral: Referral) -> str:
        clock = sla_clock(referral, now=timezone.now())
        return format_html('<span class="sla{}">{}</span>', " overdue" if clock.overdue else "", clock.text)

    @admin.display(description="Move")
    def move_link(self, referral: Referral) -> str:
        if not moves_from(referral):
            return "Closed: no move left."
        return format_html('<a class="button" href="{}">Move this referral…</a>',
                           reverse("admin:referrals_referral_move", args=[referral.pk]))

    def get_urls(self):
        move = self.admin_site.admin_view(self.move_view)
        board = self.admin_site.admin_view(self.board_view)
        return [path("board/", board, name="referrals_referral_board"),
                path("<path:object_id>/move/", move, name="referrals_referral_move"), *super().get_urls()]

    def move_view(self, request, object_id):
        referral = get_object_or_404(Referral, pk=object_id)
        if not self.has_change_permission(request, referral):
            raise PermissionDenied
        next_url = request.POST.get("next") or request.GET.get("next") or ""
        if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
            next_url = ""
        form = ReferralMoveForm(request.POST or None, referral=referral, initial={"move": request.GET.get("move")})
        if request.method == "POST" and form.is_valid():
            try:
                moved = form.apply(by=request.user)
            except ApplicationError as error:
                form.add_error(error.field if error.field in form.fields else None, error.message)
            else:
                self.message_user(request, f"The {moved.get_specialty_display().lower()} referral of "
                                           f"{referral.patient.full_name} is now {moved.status}.", messages.SUCCESS)
                return HttpResponseRedirect(next_url or reverse("admin:referrals_referral_change", args=[moved.pk]))
        return TemplateResponse(request, "admin/referrals/referral/move.html", {
            **self.admin_site.each_context(request), "title": f"Move {referral}", "form": form,
            "referral": referral, "opts": Referral._meta, "next_url": next_url,
        })

    def board_view(self, request):
        """Open referrals by status, the nearest deadline first, with the moves staff may make on each."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        columns = referrals_board(user=request.user, now=timezone.now())
        shown = [referral for column in columns for referral in column.referrals]
        audit_read(user=request.user, objects=shown, request=request)
        partners = list(Partner.objects.filter(active=True).order_by("name"))
        # Each select's options made once for the page, not once per card: a board holds up to 300 cards.
        partner_options_by_specialty = {}
        for referral in shown:
            referral.moves = dict(moves_from(referral))
            if referral.specialty not in partner_options_by_specialty:
                partner_options_by_specialty[referral.specialty] = _option_tags(
                    (partner.pk, partner.name) for partner in partners if partner.takes(referral.specialty))
            referral.partner_options = partner_options_by_specialty[referral.specialty]
        return TemplateResponse(request, "admin/referrals/referral/board.html", {
            **self.admin_site.each_context(request), "title": "Referrals board", "columns": columns,
            "can_move": self.has_change_permission(request), "opts": Referral._meta,
            "decline_options": _option_tags(DeclineReason.choices, selected=DeclineReason.OTHER),
            "board_url": request.get_full_path(),
            # `{% csrf_token %}`'s markup, made once for the page's few hundred forms.
            "csrf_input": format_html('<input type="hidden" name="csrfmiddlewaretoken" value="{}">',
                                      get_token(request)),
        })

    @admin.action(description="Cancel the selected referrals…")
    def cancel_selected(self, request, queryset: QuerySet[Referral]):
        page, reason = _ask_reason(self, request, queryset, action="cancel_selected",
                                   title="Cancel referrals", question="Why are these referrals cancelled?")
        if page is not None:
            return page
        done, refused = 0, []
        for referral in queryset:
            try:
                actions.referral_cancel(referral=referral, reason=reason, by=request.user, source=ChangeSource.ADMIN)
                done += 1
            except ApplicationError as error:
                refused.append(f"{str(referral.pk)[:8]}: {error.message}")
        self.message_user(request, f"Cancelled {done} referral(s).", messages.SUCCESS if done else messages.INFO)
        if refused:
            self.message_user(request, "Not cancelled: " + "; ".join(refused), messages.WARNING)
        return None

    @admin.action(description="Take the selected declined referrals off the re-send worklist")
    def take_off_resend_worklist(self, request, queryset: QuerySet[Referral]):
        done = 0
        for referral in queryset.filter(needs_resend=True):
            actions.referral_resend_dismiss(referral=referral, by=request.user)
            done += 1
        self.message_user(request, f"{done} referral(s) taken off the worklist.", messages.SUCCESS)


# --------------------------------------------------------------------------- partner events (the inbox)

@admin.register(PartnerWebhookEvent)
class PartnerWebhookEventAdmin(admin.ModelAdmin):
    list_display = ["received_at", "partner", "event_type", "outcome", "status_code", "referral_link",
                    "webhook_id", "redeliveries"]
    list_filter = ["outcome", "event_type", "partner"]
    search_fields = ["webhook_id", "referral_ref"]
    date_hierarchy = "received_at"
    list_select_related = ["partner"]
    actions = ["replay_selected", "dismiss_selected"]
    fields = ["partner", "webhook_id", "received_at", "event_type", "referral", "referral_ref", "outcome",
              "status_code", "detail", "redeliveries", "last_redelivered_at", "reviewed_by", "reviewed_at",
              "review_note", "headers", "body"]
    readonly_fields = fields

    def get_queryset(self, request):
        """Staff see the events about their clinic's referrals, and those about no known referral."""
        events = webhook_events_visible_to(user=request.user)
        ordering = self.get_ordering(request)
        return events.order_by(*ordering) if ordering else events

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)  # the actions, never the form

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Referral")
    def referral_link(self, event: PartnerWebhookEvent) -> str:
        if not event.referral_id:
            return event.referral_ref or "—"
        return format_html('<a href="{}">{}</a>', reverse("admin:referrals_referral_change", args=[event.referral_id]),
                           str(event.referral_id)[:8])

    @admin.action(description="Replay the selected events kept for review", permissions=["change"])
    def replay_selected(self, request, queryset: QuerySet[PartnerWebhookEvent]):
        done, refused = 0, []
        for event in queryset.filter(outcome=WebhookOutcome.KEPT_FOR_REVIEW).order_by("received_at"):
            try:
                partner_webhook_event_replay(event=event, by=request.user, source=ChangeSource.ADMIN)
                done += 1
            except ApplicationError as error:
                refused.append(f"{event.event_type} {event.webhook_id}: {error.message}")
        self.message_user(request, f"Applied {done} event(s).", messages.SUCCESS if done else messages.INFO)
        if refused:
            self.message_user(request, "Still refused: " + "; ".join(refused), messages.WARNING)

    @admin.action(description="Dismiss the selected events kept for review…", permissions=["change"])
    def dismiss_selected(self, request, queryset: QuerySet[PartnerWebhookEvent]):
        kept = queryset.filter(outcome=WebhookOutcome.KEPT_FOR_REVIEW)
        page, note = _ask_reason(self, request, kept, action="dismiss_selected", title="Dismiss partner events",
                                 question="Why are these events dismissed without acting on them?")
        if page is not None:
            return page
        for event in kept:
            partner_webhook_event_dismiss(event=event, by=request.user, note=note)
        self.message_user(request, f"Dismissed {kept.count()} event(s).", messages.SUCCESS)
        return None


# --------------------------------------------------------------------------- outbound deliveries

class AttemptInline(ReadOnlyInline):
    model = WebhookDeliveryAttempt
    fields = ["number", "started_at", "url", "status_code", "duration_ms", "outcome", "error", "response_body"]
    readonly_fields = fields


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "partner", "event_type", "status", "attempts", "next_attempt_at", "delivered_at",
                    "last_error"]
    list_filter = ["status", "event_type", "partner"]
    search_fields = ["webhook_id", "=referral__id"]
    list_select_related = ["partner"]
    inlines = [AttemptInline]
    actions = ["retry_now"]
    fields = ["partner", "referral", "event_type", "webhook_id", "status", "attempts", "next_attempt_at",
              "claimed_at", "delivered_at", "last_error", "payload"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        deliveries = super().get_queryset(request)
        if request.user.is_superuser:
            return deliveries
        return deliveries.filter(referral__in=referrals_visible_to(user=request.user))

    @admin.action(description="Retry the selected failed deliveries now (one more attempt)", permissions=["change"])
    def retry_now(self, request, queryset: QuerySet[WebhookDelivery]):
        done = sum(webhook_delivery_retry(delivery=d) for d in queryset.filter(status=DeliveryStatus.FAILED))
        self.message_user(request, f"{done} delivery(ies) queued again.", messages.SUCCESS if done else messages.INFO)
