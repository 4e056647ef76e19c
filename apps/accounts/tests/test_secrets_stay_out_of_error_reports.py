"""Passwords never reach Django's error reports (or the logs they go to)."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory
from django.views.debug import SafeExceptionReporterFilter

from apps.accounts import views

pytestmark = pytest.mark.django_db

SECRET = "correct horse battery"


@pytest.mark.parametrize(
    ("view", "path", "data"),
    [
        (views.signup, "/accounts/signup/", {"email": "a@example.com", "password": SECRET}),
        (
            views.LoginView.as_view(),
            "/accounts/login/",
            {"username": "a@example.com", "password": SECRET},
        ),
    ],
    ids=["signup", "login"],
)
def test_the_password_is_hidden_from_error_reports(view, path, data):
    request = RequestFactory().post(path, data)
    request.session = {}
    request.user = AnonymousUser()
    view(request)

    reported = SafeExceptionReporterFilter().get_post_parameters(request)

    assert reported["password"] != SECRET
    assert set(reported["password"]) == {"*"}


def test_a_lockout_is_logged_with_the_address_but_not_the_account(client, settings, caplog):
    settings.LOGIN_FAILURE_LIMIT = 2
    for _ in range(2):
        client.post("/accounts/login/", {"username": "ada@example.com", "password": "wrong"})

    (record,) = [r for r in caplog.records if r.name == "apps.accounts.throttle"]
    assert record.getMessage() == "sign-in locked after 2 failures from 127.0.0.1"
    assert "ada" not in caplog.text
