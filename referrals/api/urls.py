from django.urls import path

from . import views

urlpatterns = [
    path("referrals/", views.ReferralListView.as_view(), name="referral-list"),
    path("referrals/<uuid:pk>/", views.ReferralDetailView.as_view(), name="referral-detail"),
    path("referrals/<uuid:pk>/send/", views.ReferralSendView.as_view(), name="referral-send"),
    path("referrals/<uuid:pk>/cancel/", views.ReferralCancelView.as_view(), name="referral-cancel"),
    path("referrals/<uuid:pk>/resend/", views.ReferralResendView.as_view(), name="referral-resend"),
    path("referrals/<uuid:pk>/fhir/", views.ReferralFhirView.as_view(), name="referral-fhir"),
    path("partners/", views.PartnerListCreateView.as_view(), name="partner-list"),
    path("partners/<str:lookup>/", views.PartnerDetailView.as_view(), name="partner-detail"),
    path("partners/<str:lookup>/rotate-secret/", views.PartnerRotateSecretView.as_view(), name="partner-rotate-secret"),
    path("webhooks/partners/<str:slug>/", views.PartnerWebhookView.as_view(), name="partner-webhook"),
    path("partner-webhook-events/", views.PartnerWebhookEventListView.as_view(), name="partner-webhook-event-list"),
    path("partner-webhook-events/<uuid:pk>/", views.PartnerWebhookEventDetailView.as_view(),
         name="partner-webhook-event-detail"),
    path("partner-webhook-events/<uuid:pk>/replay/", views.PartnerWebhookEventReplayView.as_view(),
         name="partner-webhook-event-replay"),
    path("partner-webhook-events/<uuid:pk>/dismiss/", views.PartnerWebhookEventDismissView.as_view(),
         name="partner-webhook-event-dismiss"),
]
