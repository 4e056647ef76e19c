"""Download events as recorded by the gateway."""

from __future__ import annotations

from django.db import models


class DownloadEvent(models.Model):
    """One request a rule claimed (GATEWAY-DECISIONS §8).

    `id` is a UUIDv7-style sortable id assigned by the gateway, so a
    re-delivered event is stored once.
    """

    id = models.CharField(primary_key=True, max_length=36)
    timestamp = models.DateTimeField(db_index=True)
    organisation_id = models.BigIntegerField(db_index=True)
    domain = models.CharField(max_length=253)
    rule_id = models.BigIntegerField(null=True)
    rule_type = models.CharField(max_length=30)
    package = models.CharField(max_length=200, blank=True)
    method = models.CharField(max_length=16)
    path = models.TextField()
    status = models.PositiveSmallIntegerField()
    target = models.TextField(blank=True)
    capture = models.JSONField(default=dict)
    user_agent = models.TextField(blank=True)
    referer = models.TextField(blank=True)
    client_ip = models.CharField(max_length=45, blank=True)
    dnt = models.BooleanField(default=False)
    gpc = models.BooleanField(default=False)

    class Meta:
        ordering = ["-timestamp"]

    def __str__(self) -> str:
        return f"{self.method} {self.domain}{self.path} -> {self.status}"
