"""LOG_FORMAT=json: every record is one parseable JSON line."""

import json
import logging

from scarf.logs import JsonFormatter


def record(message: str, *args, exc_info=None) -> logging.LogRecord:
    return logging.LogRecord("apps.gateway", logging.ERROR, __file__, 1, message, args, exc_info)


def test_a_record_is_one_json_line_with_its_fields():
    line = JsonFormatter().format(record("spooled %d events\nto %s", 3, "disk"))

    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "spooled 3 events\nto disk"
    assert entry["level"] == "ERROR"
    assert entry["logger"] == "apps.gateway"
    assert entry["time"].endswith("+00:00")


def test_a_traceback_travels_inside_the_line():
    try:
        raise ValueError("broken")
    except ValueError as error:
        line = JsonFormatter().format(record("failed", exc_info=(ValueError, error, None)))

    assert "ValueError: broken" in json.loads(line)["exception"]
