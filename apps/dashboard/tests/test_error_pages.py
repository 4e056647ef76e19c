"""Errors answer with the dashboard's own pages, never a traceback."""

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.views.defaults import server_error

from apps.packages import services
from apps.packages.models import Revision


def test_a_missing_page_is_the_dashboards_404(signed_in):
    response = signed_in("member").get("/no/such/page/")

    assert response.status_code == 404
    assert "Not found" in response.content.decode()
    assert "Go to your packages" in response.content.decode()


def test_another_organisations_object_looks_missing(signed_in, globex):
    services.claim_domain(globex, services.SYSTEM, "dl.globex.test")
    revision = Revision.objects.get(organisation=globex)

    response = signed_in("owner").get(reverse("revision", args=[revision.id]))

    assert response.status_code == 404
    assert "belong to an organisation you are not a member of" in response.content.decode()


def test_a_refused_change_is_the_dashboards_403_naming_the_role(signed_in):
    response = signed_in("member").post(reverse("tokens"), {"name": "t", "scope": "read"})

    assert response.status_code == 403
    assert "Your role in Acme, <strong>member</strong>, does not allow this" in (
        response.content.decode()
    )


@pytest.mark.django_db
def test_the_500_page_renders_without_context_or_database():
    request = RequestFactory().get("/")

    with CaptureQueriesContext(connection) as queries:
        response = server_error(request)

    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()
    assert "Traceback" not in response.content.decode()
    assert len(queries) == 0
