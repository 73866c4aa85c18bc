"""Security headers on every answer: what a browser may load and do with Parta's pages.

The web client's policy allows only its own origin: scripts from /assets plus the one
inline script of index.html (the chat-list prefetch), allowed by its hash, computed
from the built file at start-up so a rebuild never needs a config change. Styles allow
inline style attributes (avatar colours, measured row heights). Images may be blob:
URLs, which is how the client shows files it fetched with the session token. Files
people uploaded are served under a policy that runs nothing at all (``sandbox``), so a
file that lies about its type cannot act as a page of Parta's origin.
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)

COMMON = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    # Calls (a later issue) will ask for the camera and microphone on Parta's own pages.
    "Permissions-Policy": "camera=(self), microphone=(self), geolocation=(), payment=(), usb=()",
}
FILES_POLICY = "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'; sandbox"


def inline_script_hashes(index_html: Path) -> list[str]:
    """CSP source expressions for the inline scripts of the built index.html."""
    if not index_html.exists():
        return []
    text = index_html.read_text(encoding="utf-8")
    digests = (hashlib.sha256(body.encode("utf-8")).digest() for body in INLINE_SCRIPT.findall(text))
    return [f"'sha256-{base64.b64encode(digest).decode()}'" for digest in digests]


def web_policy(script_hashes: list[str]) -> str:
    return "; ".join(
        [
            "default-src 'self'",
            " ".join(["script-src 'self'", *script_hashes]),
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' blob: data:",
            "media-src 'self' blob:",
            "connect-src 'self'",
            "worker-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


class SecurityHeaders:
    """Adds the headers to every HTTP answer (not to WebSocket frames)."""

    def __init__(self, app: ASGIApp, *, api_prefix: str, index_html: Path) -> None:
        self.app = app
        self.files_prefix = f"{api_prefix}/files"
        self.policy = web_policy(inline_script_hashes(index_html))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = FILES_POLICY if scope["path"].startswith(self.files_prefix) else self.policy

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in COMMON.items():
                    headers.setdefault(name, value)
                headers.setdefault("Content-Security-Policy", policy)
            await send(message)

        await self.app(scope, receive, send_with_headers)
