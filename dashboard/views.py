"""The dashboard's views: the home page's context and the acknowledge button behind it."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.admin.models import CHANGE, LogEntry
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from audit.actions import audit_read
from notifications.actions import escalation_acknowledge
from notifications.selectors import escalations_visible_to

from . import selectors


def home_context(request: HttpRequest) -> dict:
    """What the home page shows this user: each part only with the permission to see it."""
    user, now = request.user, timezone.now()
    can = user.has_perm
    context: dict = {"now": now, "activity_days": selectors.ACTIVITY_DAYS}
    read = []
    if can("notifications.view_escalation"):
        context["escalations"] = selectors.escalations_unacknowledged(user=user, now=now)
        context["can_acknowledge"] = can("notifications.change_escalation")
        read += [row.assessment for row in context["escalations"]]
    if can("referrals.view_referral"):
        context["overdue_referrals"] = selectors.referrals_overdue_for(user=user, now=now)
        for referral in context["overdue_referrals"]:
            referral.clock = selectors.sla_clock(referral, now=now)
        read += context["overdue_referrals"]
    if can("triage.view_assessment"):
        context["urgent_today"] = selectors.assessments_urgent_today(user=user, now=now)
        context["activity"] = selectors.activity_last_days_kept(user=user, now=now)
        context["chart"] = activity_chart(context["activity"])
        read += context["urgent_today"]
    if can("referrals.view_partnerwebhookevent"):
        context["counts"] = selectors.worklist_counts(user=user)
    if read:
        audit_read(user=user, objects=read, request=request)
    return context


CHART_HEIGHT = 120
CHART_TOP = 18  # room for the busiest day's total
CHART_BAR_STEP = 40
CHART_BAR_WIDTH = 26
STACK_ORDER = ["routine", "urgent", "emergency"]  # bottom to top


def activity_chart(activity: selectors.Activity) -> dict:
    """An inline SVG's geometry: one stacked bar per day, emergencies on top."""
    scale = CHART_HEIGHT / max(activity.busiest_day, 1)
    bars = []
    for index, day in enumerate(activity.days):
        x, top, segments = index * CHART_BAR_STEP + 8, CHART_TOP + CHART_HEIGHT, []
        for urgency in STACK_ORDER:
            count = day.counts.get(urgency, 0)
            if count:
                height = max(round(count * scale), 2)
                top -= height
                segments.append({"urgency": urgency, "count": count, "y": top, "height": height})
        bars.append({"x": x, "label_x": x + CHART_BAR_WIDTH / 2, "day": day, "segments": segments,
                     "total_y": top - 4})
    return {"bars": bars, "width": len(bars) * CHART_BAR_STEP + 8, "height": CHART_TOP + CHART_HEIGHT + 24,
            "bar_width": CHART_BAR_WIDTH, "axis_y": CHART_TOP + CHART_HEIGHT, "label_y": CHART_TOP + CHART_HEIGHT + 16}


@require_POST
def escalation_acknowledge_view(request: HttpRequest, escalation_id) -> HttpResponseRedirect:
    """The home page's button: the user owns the case now (a second press changes nothing)."""
    if not request.user.has_perm("notifications.change_escalation"):
        raise PermissionDenied
    escalation = get_object_or_404(escalations_visible_to(user=request.user), pk=escalation_id)
    before = escalation.status
    escalation = escalation_acknowledge(escalation=escalation, by=request.user, via="admin")
    if escalation.acknowledged_by_id == request.user.pk and before != escalation.status:
        LogEntry.objects.log_actions(
            user_id=request.user.pk, queryset=[escalation], action_flag=CHANGE,
            change_message="Acknowledged from the dashboard.", single_object=True,
        )
        messages.success(request, f"Case {escalation.case_code} acknowledged: it is yours.")
    else:
        who = escalation.acknowledged_by.get_username() if escalation.acknowledged_by else "someone else"
        messages.info(request, f"Case {escalation.case_code} was already acknowledged by {who}: nothing changed.")
    return HttpResponseRedirect(reverse("admin:index"))
