"""The API's answer to a URL it does not have: its JSON error body, not Django's HTML page."""

from __future__ import annotations

from rest_framework.exceptions import NotFound
from rest_framework.views import APIView


class NoSuchEndpoint(APIView):
    """Every method of every unmatched /api/v1/…/ path: a 404 in the API's format
    (an object id that is not a number lands here too)."""

    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes: list = []
    schema = None

    def initial(self, request, *args, **kwargs):
        raise NotFound("No such endpoint.")
