"""Structured logs: one JSON object per line (LOG_FORMAT=json), for log shippers.

Each record carries its time, level, logger, message, the process and
thread, and the traceback when there is one. Messages are the code's own
text: log calls in this project name at most a domain, never a request's
path, headers or client address.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import orjson


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
            "thread": record.threadName,
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()
