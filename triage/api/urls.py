from django.urls import path

from . import views

urlpatterns = [
    path("findings/", views.FindingListView.as_view(), name="finding-list"),
    path("assessments/", views.AssessmentListCreateView.as_view(), name="assessment-list"),
    path("assessments/<uuid:pk>/", views.AssessmentDetailView.as_view(), name="assessment-detail"),
    path("assessments/<uuid:pk>/override/", views.AssessmentOverrideView.as_view(), name="assessment-override"),
    path("assessments/<uuid:pk>/retriage/", views.AssessmentRetriageView.as_view(), name="assessment-retriage"),
    path("triage/overrides-by-rule/", views.OverridesByRuleView.as_view(), name="overrides-by-rule"),
]
