from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail

from .models import User


@shared_task
def send_welcome_email(user_id: int) -> str | None:
    """Greet a new user; returns the address written to (None if the user is gone)."""
    user = User.objects.filter(id=user_id).first()
    if user is None:
        return None
    send_mail(
        "Welcome to the package gateway",
        f"Your account is ready. Sign in at {settings.SITE_URL}/accounts/login/ "
        "to register your first package.",
        None,
        [user.email],
    )
    return user.email
