"""schemathesis against the live schema: no input makes the API fail with a
server error or answer outside what the schema documents."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from apps.accounts.models import ApiToken, Membership

from .conftest import issue_token

pytestmark = pytest.mark.slow

EXAMPLES_PER_OPERATION = 12  # about 300 requests in all, well under a minute
# Invalid input (wrong types, missing fields, ids that are not numbers): fewer
# examples, as each is refused early.
NEGATIVE_EXAMPLES_PER_OPERATION = 6
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def in_process_wsgi():
    """Requests share the test's database connection and transaction, as with
    Django's test client (which detaches these receivers the same way)."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield get_wsgi_application()
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


class Fuzzer:
    """Ada's write token of Acme, and the requests that would take it away
    (revoking it, removing or demoting Ada, deleting Acme): generated ids can
    hit them, and the rest of the run would only see 401s."""

    def __init__(self, acme, ada):
        secret = issue_token(acme, ada)
        self.headers = {"Authorization": f"Bearer {secret}"}
        membership = Membership.objects.get(organisation=acme, user=ada)
        self.own_access = {
            ("DELETE", "/api/v1/tokens/{id}/", str(ApiToken.find(secret).id)),
            ("DELETE", "/api/v1/organisations/{id}/", str(acme.id)),
            ("DELETE", "/api/v1/members/{id}/", str(membership.id)),
            ("PATCH", "/api/v1/members/{id}/", str(membership.id)),
        }

    def removes_own_access(self, case) -> bool:
        target = str((case.path_parameters or {}).get("id"))
        return (case.method.upper(), case.path, target) in self.own_access


def fuzz_every_operation(app, fuzzer: Fuzzer, mode: GenerationMode, examples: int):
    """Send `examples` generated requests to each operation; (failures, statuses)."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 30
    failures, statuses = [], []

    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @hypothesis_settings(
            max_examples=examples,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.explicit, Phase.generate],
        )
        def fuzz(case):
            if fuzzer.removes_own_access(case):
                return
            response = case.call(headers=fuzzer.headers)
            statuses.append(response.status_code)
            try:
                case.validate_response(response, checks=CHECKS)
            except AssertionError as failure:
                failures.append(f"{case.operation.label}: {failure}"[:2000])

        fuzz()

    return failures, statuses


def test_fuzzing_every_operation_finds_no_server_error_and_no_answer_outside_the_schema(
    acme, ada, settings, dns_server, in_process_wsgi
):
    settings.API_RATE_LIMIT = "100000/min"

    failures, statuses = fuzz_every_operation(
        in_process_wsgi, Fuzzer(acme, ada), GenerationMode.POSITIVE, EXAMPLES_PER_OPERATION
    )

    assert failures == []
    assert len(statuses) > 200
    assert 401 not in statuses  # the token held throughout
    assert {200, 201, 400, 404} <= set(statuses)  # it reached both success and refusal


def test_fuzzing_every_operation_with_invalid_input_finds_no_server_error(
    acme, ada, settings, dns_server, in_process_wsgi
):
    settings.API_RATE_LIMIT = "100000/min"

    failures, statuses = fuzz_every_operation(
        in_process_wsgi, Fuzzer(acme, ada), GenerationMode.NEGATIVE, NEGATIVE_EXAMPLES_PER_OPERATION
    )

    assert failures == []
    assert 400 in statuses
    assert 401 not in statuses
