"""Logging setup: plain text by default, JSON lines on request; secrets never reach a record."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys


class JsonFormatter(logging.Formatter):
    """One JSON object per line with time, level, logger, message and any exception."""

    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


def setup_logging(*, verbose: bool = False, json_lines: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if json_lines:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    # -v is paperbot's own debug detail; libraries (aiosqlite logs every statement at debug) stay at info.
    root.setLevel(logging.INFO if verbose else logging.WARNING)
    logging.getLogger("bot").setLevel(logging.DEBUG if verbose else logging.INFO)
    logging.getLogger("discord").setLevel(logging.INFO if verbose else logging.WARNING)
