"""Webhooks in the API: manage the organisation's endpoints, read the
delivery log, send a test event. Webhook URLs can carry credentials of
their own, so everything here needs the admin role, reading included."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.accounts import roles
from apps.webhooks import services as webhooks
from apps.webhooks.events import SUBSCRIBABLE
from apps.webhooks.models import Delivery, Webhook

from .serializers import WHEN, example
from .views import Readable, filters, query_id, query_value

WEBHOOK = {
    "id": 3,
    "url": "https://hooks.acme.dev/gateway",
    "description": "ops alerts",
    "events": ["backend.health_changed", "migration_check.finished"],
    "active": True,
    "secret_hint": "whsec_Q2x9…",
    "created": WHEN,
}
DELIVERY = {
    "id": 41,
    "webhook": 3,
    "event_id": "0b7f3c1e-5a8d-4c7e-9a51-2f0c6f1d9e21",
    "event_type": "backend.health_changed",
    "status": "pending",
    "attempts": 2,
    "response_status": 503,
    "last_error": "HTTP 503: busy",
    "schedule": [30, 60],
    "created": WHEN,
    "last_attempt": WHEN,
    "next_attempt": "2026-01-05T10:01:30Z",
    "delivered": None,
    "body": '{"id":"0b7f3c1e-…","type":"backend.health_changed","data":{"healthy":false}}',
}


@extend_schema_serializer(
    examples=[
        example(
            "New webhook",
            {k: WEBHOOK[k] for k in ("url", "description", "events")},
            request_only=True,
        ),
        example("Pause", {"active": False}, request_only=True),
        example("Webhook", WEBHOOK, response_only=True),
    ]
)
class WebhookSerializer(serializers.ModelSerializer):
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=list(SUBSCRIBABLE)),
        help_text="; ".join(f"`{name}`: {meaning}" for name, meaning in SUBSCRIBABLE.items()),
    )

    class Meta:
        model = Webhook
        fields = ["id", "url", "description", "events", "active", "secret_hint", "created"]
        read_only_fields = ["secret_hint", "created"]


@extend_schema_serializer(
    examples=[
        example(
            "New webhook",
            {**WEBHOOK, "secret": "whsec_Q2x9…"},
            response_only=True,
        )
    ]
)
class NewWebhookSerializer(WebhookSerializer):
    secret = serializers.CharField(
        read_only=True, help_text="the signing secret; shown only in this response"
    )

    class Meta(WebhookSerializer.Meta):
        fields = [*WebhookSerializer.Meta.fields, "secret"]


@extend_schema_serializer(examples=[example("Delivery", DELIVERY, response_only=True)])
class DeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = Delivery
        fields = list(DELIVERY)
        read_only_fields = fields


class AdminOnly:
    """Every method, reading included, needs the admin role."""

    def permission_for(self, request) -> str:
        return roles.MANAGE


class WebhookViewSet(
    AdminOnly,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    Readable,
):
    """HTTP endpoints sent the organisation's events, as JSON signed with
    HMAC-SHA256: `X-Scarf-Signature: t=<unix time>,v1=<hex of HMAC(secret,
    "<t>.<body>")>`. Failed deliveries are retried with exponential back-off."""

    model = Webhook
    serializer_class = WebhookSerializer

    @extend_schema(request=WebhookSerializer, responses={201: NewWebhookSerializer})
    def create(self, request):
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        webhook = webhooks.create_webhook(
            self.access.organisation, self.access.actor, **body.validated_data
        )
        return Response(NewWebhookSerializer(webhook).data, status=201)

    def perform_update(self, serializer) -> None:
        serializer.instance = webhooks.update_webhook(
            serializer.instance, **serializer.validated_data
        )

    @extend_schema(request=None, responses={200: NewWebhookSerializer})
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        """A new signing secret, shown once; the old one stops at once."""
        webhook = webhooks.rotate_secret(self.get_object())
        return Response(NewWebhookSerializer(webhook).data)

    @extend_schema(request=None, responses={201: DeliverySerializer})
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        """Send a `webhook.test` event now, whatever the webhook subscribes to."""
        delivery = webhooks.send_test_event(self.get_object())
        delivery.refresh_from_db()
        return Response(DeliverySerializer(delivery).data, status=201)


@filters(
    webhook="only deliveries to the webhook with this id", status="pending, succeeded or failed"
)
class DeliveryViewSet(AdminOnly, Readable):
    """Every event sent to the organisation's webhooks, newest first: status,
    attempts, the last answer or error, and the back-off planned so far."""

    model = Delivery
    organisation_field = "webhook__organisation"
    serializer_class = DeliverySerializer

    def filter(self, queryset):
        if (webhook := query_id(self.request, "webhook")) is not None:
            queryset = queryset.filter(webhook_id=webhook)
        if status := query_value(self.request, "status"):
            queryset = queryset.filter(status=status)
        return queryset
