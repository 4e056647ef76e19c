from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string

from apps.accounts.models import Membership

from .models import SecurityEvent


@shared_task
def email_owners(event_id: int) -> list[str]:
    """Tell the organisation's owners what changed, by whom, from where, and
    where to undo it; returns the addresses written to (none if the event is gone)."""
    event = SecurityEvent.objects.select_related("organisation").filter(id=event_id).first()
    if event is None or event.organisation is None:
        return []
    owners = Membership.objects.filter(organisation=event.organisation, role=Membership.OWNER)
    recipients = sorted(owners.values_list("user__email", flat=True))
    context = {"event": event, "link": settings.SITE_URL + event.link if event.link else ""}
    send_mail(
        " ".join(
            f"[{event.organisation.name}] {event.get_kind_display()}: {event.summary}".split()
        )[:200],
        render_to_string("security/owner_email.txt", context),
        None,
        recipients,
    )
    return recipients
