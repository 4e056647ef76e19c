"""Every organisation has its default domain, however it was created; and
the signals other apps subscribe to."""

from __future__ import annotations

import django.dispatch
from django.db.models.signals import post_save
from django.dispatch import receiver

from apps.accounts.models import Organisation

from .domains import ensure_default_domain

backend_health_changed = django.dispatch.Signal()
"""Sent once a backend's health flips, after the change is committed.

Keyword arguments: `rule` (the Rule), `backend` (the Backend, or None for
the rule's own, primary backend), `healthy` (the new state, a bool),
`error` (why the last check failed; "" when healthy) and `revision` (the
Revision recording the change)."""


@receiver(post_save, sender=Organisation)
def organisation_saved(sender, instance: Organisation, created: bool, raw: bool = False, **kwargs):
    if created and not raw:
        ensure_default_domain(instance)
