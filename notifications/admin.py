from django.contrib import admin, messages
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from simple_history.admin import SimpleHistoryAdmin

from audit.mixins import AuditedAdminMixin
from common.admin import PlainActionCheckboxMixin, ScopedAdminMixin

from .actions import escalation_acknowledge, notification_resend
from .models import DeliveryAttempt, Escalation, EscalationEvent, EscalationStatus, Notification, OnCallContact
from .selectors import escalations_visible_to


@admin.register(OnCallContact)
class OnCallContactAdmin(SimpleHistoryAdmin):
    list_display = ["name", "tier", "active", "language", "phone", "email"]
    list_filter = ["tier", "active", "language"]
    search_fields = ["name", "email"]
    list_editable = ["active"]
    readonly_fields = ["created_at", "updated_at"]


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class NotificationInline(ReadOnlyInline):
    model = Notification
    fields = ["kind", "tier", "channel", "recipient", "status", "attempts", "queued_at", "sent_at", "delivered_at",
              "last_error"]
    readonly_fields = fields


class EscalationEventInline(ReadOnlyInline):
    model = EscalationEvent
    show_change_link = False
    fields = ["at", "kind", "tier", "by", "contact", "via", "note"]
    readonly_fields = fields


@admin.register(Escalation)
class EscalationAdmin(AuditedAdminMixin, ScopedAdminMixin, PlainActionCheckboxMixin, SimpleHistoryAdmin):
    visible_to = staticmethod(escalations_visible_to)
    list_select_related = ["assessment"]
    list_display = ["case_code", "status", "tier", "opened_at", "next_tier_due_at", "acknowledged_at",
                    "acknowledged_via", "exhausted_at"]
    list_filter = ["status", "acknowledged_via", "opened_at"]
    search_fields = ["case_code", "=assessment__id"]
    date_hierarchy = "opened_at"
    show_full_result_count = False  # a filtered page counts its rows once, not the whole table again
    readonly_fields = ["assessment", "clinic", "status", "tier", "case_code", "opened_at", "next_tier_due_at",
                       "acknowledged_at", "acknowledged_by", "acknowledged_by_contact", "acknowledged_via",
                       "exhausted_at", "created_at", "updated_at"]
    inlines = [NotificationInline, EscalationEventInline]
    actions = ["acknowledge"]
    change_form_template = "admin/notifications/escalation/change_form.html"

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Acknowledge the selected escalations (I own these cases)")
    def acknowledge(self, request, queryset):
        done = 0
        for escalation in queryset.exclude(status=EscalationStatus.ACKNOWLEDGED):
            escalation = escalation_acknowledge(escalation=escalation, by=request.user, via="admin")
            done += escalation.acknowledged_by_id == request.user.pk
        self.message_user(request, f"Acknowledged {done} escalation(s).", messages.SUCCESS if done else messages.INFO)

    def get_urls(self):
        acknowledge = self.admin_site.admin_view(self.acknowledge_view)
        return [path("<path:object_id>/acknowledge/", acknowledge, name="notifications_escalation_acknowledge"),
                *super().get_urls()]

    def acknowledge_view(self, request, object_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        escalation = get_object_or_404(self.get_queryset(request), pk=object_id)
        if not self.has_view_permission(request, escalation):
            return HttpResponseRedirect(reverse("admin:index"))
        before = escalation.status
        escalation = escalation_acknowledge(escalation=escalation, by=request.user, via="admin")
        if before == EscalationStatus.ACKNOWLEDGED:
            self.message_user(request, "Already acknowledged: nothing changed.", messages.INFO)
        else:
            self.message_user(request, f"Case {escalation.case_code} acknowledged: it is yours.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:notifications_escalation_change", args=[escalation.pk]))


class DeliveryAttemptInline(ReadOnlyInline):
    model = DeliveryAttempt
    show_change_link = False
    fields = ["number", "started_at", "duration_ms", "outcome", "status_code", "provider_id", "error", "response"]
    readonly_fields = fields


@admin.register(Notification)
class NotificationAdmin(PlainActionCheckboxMixin, admin.ModelAdmin):
    list_display = ["queued_at", "escalation", "kind", "tier", "channel", "recipient", "status", "attempts",
                    "sent_at", "last_error"]
    list_filter = ["status", "channel", "kind", "tier"]
    search_fields = ["recipient", "provider_id", "escalation__case_code"]
    list_select_related = ["escalation"]
    date_hierarchy = "queued_at"
    show_full_result_count = False  # a filtered page counts its rows once, not the whole table again
    exclude = ["body"]  # it carries a signed acknowledgement link
    readonly_fields = ["escalation", "kind", "contact", "tier", "channel", "recipient", "language", "subject",
                       "status", "attempts", "queued_at", "next_attempt_at", "claimed_at", "sent_at", "delivered_at",
                       "failed_at", "provider_id", "provider_status", "last_error", "created_at", "updated_at"]
    inlines = [DeliveryAttemptInline]
    actions = ["resend"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(escalation__in=escalations_visible_to(user=request.user))

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Send the selected failed notifications again")
    def resend(self, request, queryset):
        done = sum(notification_resend(notification=n, by=request.user) for n in queryset)
        self.message_user(request, f"Queued {done} notification(s) again; only failed ones are re-sent.",
                          messages.SUCCESS if done else messages.WARNING)
