"""Queued tasks against a real broker, and against one that refuses (a closed port)."""

import time
from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.outbox.models import QueuedTask
from apps.outbox.queue import claim, enqueue_on_commit
from apps.outbox.tasks import relay_queued_tasks
from scarf.celery import app
from scarf.ports import free_port

WELCOME = "apps.accounts.tasks.send_welcome_email"
SIGNUP = {"email": "ada@example.com", "password": "correct horse battery", "organisation": "Ada"}


def point_broker_at(url: str) -> None:
    app._pool = None
    app.amqp._producer_pool = None
    app.conf.broker_url = app.conf.broker_write_url = url


@pytest.fixture
def broker_down():
    """The broker refuses every connection (nothing listens where Celery sends);
    calling the fixture's value brings the real broker back."""
    working = app.conf.broker_url
    point_broker_at(f"redis://127.0.0.1:{free_port()}/0")
    yield lambda: point_broker_at(working)
    point_broker_at(working)


def make_due():
    QueuedTask.objects.update(next_try=timezone.now() - timedelta(seconds=1))


def wait_for_mail(timeout=30.0):
    """The messages sent so far, once there is one (the worker sends them)."""
    deadline = time.monotonic() + timeout
    while not mail.outbox and time.monotonic() < deadline:
        time.sleep(0.1)
    return mail.outbox


def test_a_committed_task_reaches_the_worker_and_is_forgotten(celery_worker):
    user = User.objects.create_user("grace@example.com", "a long enough password")

    with transaction.atomic():
        enqueue_on_commit(WELCOME, user.id)
        assert QueuedTask.objects.count() == 1  # written with the change

    assert [m.to for m in wait_for_mail()] == [["grace@example.com"]]
    assert not QueuedTask.objects.exists()


def test_a_rolled_back_change_queues_nothing(celery_worker):
    user = User.objects.create_user("grace@example.com", "a long enough password")

    def failing_change():
        with transaction.atomic():
            enqueue_on_commit(WELCOME, user.id)
            raise RuntimeError("the change fails")

    with pytest.raises(RuntimeError):
        failing_change()

    assert relay_queued_tasks() == 0
    assert not QueuedTask.objects.exists()


def test_signing_up_while_the_broker_refuses_still_signs_up(transactional_db, client, broker_down):
    response = client.post("/accounts/signup/", SIGNUP)

    assert response.status_code == 302
    assert User.objects.filter(email="ada@example.com").exists()
    queued = QueuedTask.objects.get()
    assert (queued.name, queued.args) == (WELCOME, [User.objects.get().id])
    assert "Error" in queued.last_error
    assert queued.next_try > timezone.now()


def test_a_refused_task_waits_longer_after_each_refusal(transactional_db, broker_down):
    user = User.objects.create_user("grace@example.com", "a long enough password")
    with transaction.atomic():
        enqueue_on_commit(WELCOME, user.id)
    waits = []
    for _ in range(3):
        make_due()
        before = timezone.now()
        assert relay_queued_tasks() == 0
        waits.append((QueuedTask.objects.get().next_try - before).total_seconds())

    assert waits[0] < waits[1] < waits[2]
    assert QueuedTask.objects.get().attempts == 3


def test_the_relay_sends_what_the_broker_refused_once_it_is_back(
    transactional_db, client, broker_down, celery_worker
):
    client.post("/accounts/signup/", SIGNUP)
    broker_down()  # the broker is back

    assert relay_queued_tasks() == 0  # not due yet: the commit's own try was moments ago
    make_due()
    assert relay_queued_tasks() == 1

    assert [m.to for m in wait_for_mail()] == [["ada@example.com"]]
    assert not QueuedTask.objects.exists()


def test_a_task_is_claimed_by_one_relay_only(transactional_db, broker_down):
    user = User.objects.create_user("grace@example.com", "a long enough password")
    with transaction.atomic():
        enqueue_on_commit(WELCOME, user.id)
    first, second = QueuedTask.objects.get(), QueuedTask.objects.get()

    assert [claim(first), claim(second)] == [True, False]
