"""Pages of `limit` objects from `offset`, both bounded so any value a client
sends is a valid database query."""

from __future__ import annotations

from rest_framework.pagination import LimitOffsetPagination

MAX_OFFSET = 2**31


class Pages(LimitOffsetPagination):
    max_limit = 500

    def get_offset(self, request) -> int:
        return min(super().get_offset(request), MAX_OFFSET)

    def get_previous_link(self) -> str | None:
        # From past the end, the previous page is the last one, not another empty one.
        self.offset = min(self.offset, self.count)
        return super().get_previous_link()
