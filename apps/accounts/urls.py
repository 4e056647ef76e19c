from django.urls import include, path

from . import views

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("", include("django.contrib.auth.urls")),
    path("organisations/", views.organisations, name="organisations"),
    path("invitations/<str:secret>/", views.accept_invitation, name="accept-invitation"),
    path(
        "organisations/<slug:slug>/switch/",
        views.switch_organisation,
        name="switch-organisation",
    ),
]
