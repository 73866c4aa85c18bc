"""Keeping secrets out of the server's logs.

Every log line of ``parta serve`` (uvicorn's access and error logs, Parta's own, and
anything that reaches the root logger) passes ``RedactSecrets``: invite tokens in
paths (``/api/v1/invites/<token>``, the web client's ``/join/<token>``), token-like
query parameters, bearer tokens, token fields of JSON and passwords in URLs are replaced
by ``***``, and phone numbers are masked (``+7912***6789``). Parta's own code does not log such
values; this is the net under uvicorn's access log, which prints every path with its
query string, and under tracebacks, which may quote SQL parameters.
"""

from __future__ import annotations

import logging
import re

HIDDEN = "***"

# Links carry their token in the path; numeric ids (/chats/5/invites/12) stay readable.
_PATH_TOKEN = re.compile(
    r"(/(?:org-)?invites/|/join/(?:org/)?)"
    r"(?!org(?:[/?#\s\"']|$))(?!\d+(?:[/?#\s\"']|$))"
    r"[^/?#\s\"']+"
)
_QUERY_SECRET = re.compile(
    r"([?&](?:token|access_token|code|key|api_key|secret|password|sig|signature)=)[^&#\s\"']*",
    re.IGNORECASE,
)
_BEARER = re.compile(r"(\bBearer\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
_JSON_SECRET = re.compile(r"(\"(?:token|secret_key|password)\"\s*:\s*\")[^\"]*", re.IGNORECASE)
_JSON_CODE = re.compile(r"(\"code\"\s*:\s*\")\d{4,8}(?=\")")
# postgresql://parta:PASSWORD@db/parta, redis://:PASSWORD@cache:6379 in an error message.
_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s]+@", re.IGNORECASE)
# E.164 as Parta stores phones (and as tracebacks quoting SQL parameters show them).
_PHONE = re.compile(r"\+\d{10,15}\b")


def mask_phone(phone: str) -> str:
    """``+79123456789`` -> ``+7912***6789``: enough to tell people apart in a log."""
    return phone[:5] + HIDDEN + phone[-4:]


def redact(text: str) -> str:
    """``text`` with tokens, codes in JSON or query strings, passwords in URLs and other
    secrets hidden, and phone numbers masked."""
    text = _PATH_TOKEN.sub(r"\g<1>" + HIDDEN, text)
    text = _QUERY_SECRET.sub(r"\g<1>" + HIDDEN, text)
    text = _BEARER.sub(r"\g<1>" + HIDDEN, text)
    text = _JSON_SECRET.sub(r"\g<1>" + HIDDEN, text)
    text = _JSON_CODE.sub(r"\g<1>" + HIDDEN, text)
    text = _URL_PASSWORD.sub(r"\g<1>" + HIDDEN + "@", text)
    return _PHONE.sub(lambda m: mask_phone(m.group(0)), text)


class RedactSecrets(logging.Filter):
    """A handler filter: rewrites each record before any formatter sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if record.name == "uvicorn.access" and isinstance(args, tuple) and len(args) == 5:
            # uvicorn's AccessFormatter unpacks (client, method, path?query, http version, status).
            client, method, path, version, status = args
            record.args = (client, method, redact(str(path)), version, status)
        else:
            message = record.getMessage()
            cleaned = redact(message)
            if cleaned != message:
                record.msg, record.args = cleaned, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
