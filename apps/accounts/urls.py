from django.contrib.auth import views as auth_views
from django.urls import include, path

from . import views
from .forms import LoginForm

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path(
        "login/",
        auth_views.LoginView.as_view(
            authentication_form=LoginForm, redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("", include("django.contrib.auth.urls")),
    path("organisations/", views.organisations, name="organisations"),
    path("invitations/<str:secret>/", views.accept_invitation, name="accept-invitation"),
    path(
        "organisations/<slug:slug>/switch/",
        views.switch_organisation,
        name="switch-organisation",
    ),
]
