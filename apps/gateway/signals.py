"""Publish a domain's routing entry whenever something it is built from changes."""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from apps.packages.models import Backend, Domain, Package, PrimaryHealth, Rule

from .routing import schedule_publish

ROUTED_BACKEND_FIELDS = {"rule", "position", "config", "weight", "healthy"}


@receiver([post_save, post_delete], sender=Domain)
def domain_changed(sender, instance: Domain, **kwargs) -> None:
    schedule_publish(instance.hostname)


@receiver([post_save, post_delete], sender=Rule)
def rule_changed(sender, instance: Rule, **kwargs) -> None:
    # The domain may already be gone when a cascade deletes its rules.
    hostnames = Domain.objects.filter(id=instance.domain_id).values_list("hostname", flat=True)
    for name in hostnames:
        schedule_publish(name)


@receiver(post_save, sender=Package)
def package_changed(sender, instance: Package, **kwargs) -> None:
    hostnames = Domain.objects.filter(rules__package=instance).values_list("hostname", flat=True)
    for name in hostnames.distinct():
        schedule_publish(name)


@receiver([post_save, post_delete], sender=Backend)
@receiver([post_save, post_delete], sender=PrimaryHealth)
def backend_changed(sender, instance: Backend | PrimaryHealth, update_fields=None, **kwargs):
    """Alternates and their health travel in the routing entry (build_entry);
    saving only bookkeeping (probe times, counters) changes nothing served."""
    if update_fields is not None and not set(update_fields) & ROUTED_BACKEND_FIELDS:
        return
    hostnames = Domain.objects.filter(rules__id=instance.rule_id).values_list("hostname", flat=True)
    for name in hostnames:
        schedule_publish(name)
