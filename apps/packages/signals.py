"""Every organisation has its default domain, however it was created."""

from __future__ import annotations

from django.db.models.signals import post_save
from django.dispatch import receiver

from apps.accounts.models import Organisation

from .domains import ensure_default_domain


@receiver(post_save, sender=Organisation)
def organisation_saved(sender, instance: Organisation, created: bool, raw: bool = False, **kwargs):
    if created and not raw:
        ensure_default_domain(instance)
