from django.urls import path

from . import views

urlpatterns = [
    path("patients/", views.PatientListCreateView.as_view(), name="patient-list"),
    path("patients/me/", views.PatientMeView.as_view(), name="patient-me"),
    path("patients/<uuid:pk>/", views.PatientDetailView.as_view(), name="patient-detail"),
    path("auth/register/", views.RegisterView.as_view(), name="auth-register"),
]
