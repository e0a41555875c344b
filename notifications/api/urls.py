from django.urls import path

from . import views

urlpatterns = [
    path("oncall-contacts/", views.OnCallContactListCreateView.as_view(), name="oncall-contact-list"),
    path("oncall-contacts/<uuid:pk>/", views.OnCallContactDetailView.as_view(), name="oncall-contact-detail"),
    path("escalations/", views.EscalationListView.as_view(), name="escalation-list"),
    path("escalations/<uuid:pk>/", views.EscalationDetailView.as_view(), name="escalation-detail"),
    path("escalations/<uuid:pk>/acknowledge/", views.EscalationAcknowledgeView.as_view(),
         name="escalation-acknowledge"),
    path("escalations/ack/<str:token>/", views.EscalationAcknowledgeLinkView.as_view(), name="escalation-ack-link"),
    path("webhooks/twilio/status/", views.TwilioStatusCallbackView.as_view(), name="twilio-status-callback"),
    path("webhooks/twilio/inbound/", views.TwilioInboundMessageView.as_view(), name="twilio-inbound-message"),
]
