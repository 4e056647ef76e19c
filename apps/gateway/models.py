from django.db import models


class RoutingChange(models.Model):
    """Announces that a domain's routing entry changed, for embedded mode,
    where there is no Redis stream; gateway threads poll it."""

    hostname = models.CharField(max_length=253)
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.hostname} changed"
