"""Embedded mode runs the periodic tasks itself (no Celery beat, no Redis)."""

import pytest

from apps.accounts.models import Organisation
from apps.packages.models import Domain
from scarf.embedded import REDIS_ONLY_TASKS, embedded_schedule, run_due


def test_the_schedule_leaves_out_the_tasks_that_need_redis():
    schedule = embedded_schedule()

    assert "verify-pending-domains" in schedule
    assert not REDIS_ONLY_TASKS & set(schedule)


@pytest.mark.django_db
def test_a_due_task_runs_in_process_and_is_planned_again(dns_server):
    organisation = Organisation.objects.create(name="Acme", slug="acme")
    domain = Domain.objects.create(organisation=organisation, hostname="get.acme.test")
    dns_server.txt[domain.challenge_name] = [domain.verification_token]
    schedule = {"verify": ("apps.packages.tasks.verify_pending_domains", 300.0)}
    next_run = {}

    run_due(schedule, next_run, now=1000.0)

    domain.refresh_from_db()
    assert domain.verified
    assert next_run == {"verify": 1300.0}


def test_a_task_that_is_not_due_does_not_run():
    schedule = {"boom": ("no.such.task", 60.0)}
    next_run = {"boom": 2000.0}

    run_due(schedule, next_run, now=1000.0)  # running it would plan it for 1060

    assert next_run == {"boom": 2000.0}
