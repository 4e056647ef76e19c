"""Webhooks: the organisation's endpoints, their recent deliveries, a test
event, a new secret. Admins only: a webhook URL may carry credentials."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from apps.accounts.roles import MANAGE, role_required
from apps.packages.services import Rejected
from apps.webhooks import services as webhooks
from apps.webhooks.events import SUBSCRIBABLE
from apps.webhooks.models import Webhook

from .packages import actor

RECENT_DELIVERIES = 10


class WebhookForm(forms.Form):
    url = forms.CharField(
        label="URL",
        max_length=2000,
        help_text="An https:// URL on the public internet; every event is POSTed there.",
    )
    description = forms.CharField(max_length=200, required=False)
    events = forms.MultipleChoiceField(
        choices=[(name, f"{name}: {meaning}") for name, meaning in SUBSCRIBABLE.items()],
        widget=forms.CheckboxSelectMultiple,
    )


@role_required(MANAGE)
def webhook_list(request):
    organisation = request.organisation
    form = WebhookForm(request.POST or None)
    secret = None
    if request.method == "POST" and form.is_valid():
        try:
            webhook = webhooks.create_webhook(organisation, actor(request), **form.cleaned_data)
        except Rejected as rejected:
            for field, message in rejected.errors:
                form.add_error(field if field in form.fields else None, message)
        else:
            secret, form = webhook.secret, WebhookForm()
    hooks = [
        (webhook, webhook.deliveries.all()[:RECENT_DELIVERIES])
        for webhook in organisation.webhooks.all()
    ]
    return render(
        request, "dashboard/webhooks.html", {"hooks": hooks, "form": form, "secret": secret}
    )


def _own(request, webhook_id: int) -> Webhook:
    return get_object_or_404(Webhook, id=webhook_id, organisation=request.organisation)


@require_POST
@role_required(MANAGE)
def webhook_test(request, webhook_id: int):
    webhooks.send_test_event(_own(request, webhook_id))
    messages.success(request, "Sent a test event; its delivery is listed below.")
    return redirect("webhooks")


@require_POST
@role_required(MANAGE)
def webhook_rotate(request, webhook_id: int):
    webhook = webhooks.rotate_secret(_own(request, webhook_id))
    messages.success(request, f"New signing secret for {webhook}, shown only now: {webhook.secret}")
    return redirect("webhooks")


@require_POST
@role_required(MANAGE)
def webhook_delete(request, webhook_id: int):
    webhook = _own(request, webhook_id)
    webhook.delete()
    messages.success(request, f"Deleted the webhook {webhook}.")
    return redirect("webhooks")
