from allauth.account import views as allauth_views
from allauth.urls import build_provider_urlpatterns
from django.contrib.auth import views as auth_views
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
    # allauth's parts: second factors and passkeys, asking again, forge sign-in,
    # sessions. Its own sign-in, sign-up and e-mail pages are not served: the
    # names its templates and flows use lead to ours.
    path("login/", views.LoginView.as_view(), name="account_login"),
    path("signup/", views.signup, name="account_signup"),
    path("logout/", auth_views.LogoutView.as_view(), name="account_logout"),
    path("inactive/", allauth_views.account_inactive, name="account_inactive"),
    path("reauthenticate/", allauth_views.reauthenticate, name="account_reauthenticate"),
    path(
        "reauthenticate/forge/", views.reauthenticate_with_forge, name="reauthenticate-with-forge"
    ),
    path(
        "password_change/",
        auth_views.PasswordChangeView.as_view(),
        name="account_change_password",
    ),
    path("2fa/", include("allauth.mfa.urls")),
    path("3rdparty/", include("allauth.socialaccount.urls")),
    path("link/", views.link_account, name="link-account"),
    path("sessions/", include("allauth.usersessions.urls")),
    path("sessions/<int:session_id>/end/", views.end_session, name="end-session"),
    *build_provider_urlpatterns(),
]
