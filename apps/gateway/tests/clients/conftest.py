"""Fixtures the client tests share: a local registry holding an image."""

from apps.gateway.tests.clients.test_docker_clients import image, registry  # noqa: F401
