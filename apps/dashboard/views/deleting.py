"""Deleting anything from the dashboard: a page saying what goes with it,
then a POST from its button."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.shortcuts import redirect, render

from apps.packages import services


def confirm_deletion(
    request,
    *,
    subject: str,
    consequence: str,
    delete: Callable[[], object],
    cancel: str,
    done: str,
    message: str,
    action: str = "Delete",
):
    """Ask on GET (the button says `action`); on POST `delete()`, say
    `message` and go to `done`, or show why the change was refused
    (services.Rejected) on the same page."""
    refusal = None
    if request.method == "POST":
        try:
            delete()
        except services.Rejected as rejected:
            refusal = "; ".join(message for _field, message in rejected.errors)
        else:
            messages.success(request, message)
            return redirect(done)
    context = {
        "subject": subject,
        "consequence": consequence,
        "cancel": cancel,
        "action": action,
        "refusal": refusal,
    }
    return render(request, "dashboard/confirm_deletion.html", context)
