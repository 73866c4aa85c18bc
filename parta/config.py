"""Settings read from ``PARTA_*`` environment variables.

Defaults are safe for the embedded run: SQLite under ``var/``, development code
sender, everything bound to 127.0.0.1.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PARTA_", extra="ignore")

    data_dir: Path = Path("var")
    database_url: str = ""
    # SecretStr: never shown by repr() or in a traceback's locals.
    secret_key: SecretStr = SecretStr("")
    default_region: str = "RU"
    # Proxies whose X-Forwarded-For is believed (per-IP rate limits see the real client).
    trusted_proxies: str = "127.0.0.1"

    # Sign-in codes.
    code_sender: str = "dev"  # "dev" (log + otp.log) or "webhook"
    code_webhook_url: str = ""
    code_ttl_seconds: int = 300
    code_max_attempts: int = 5
    code_resend_seconds: int = 60
    code_per_phone_per_hour: int = 5
    # With 5 tries per code, 10 codes a day bound guessing at 50 tries a day per phone
    # (docs/security.md works out the odds).
    code_per_phone_per_day: int = 10
    code_per_ip_per_hour: int = 30

    # Messages, files, sync.
    max_message_length: int = 4000
    max_upload_bytes: int = 20 * 1024 * 1024
    # Any request that is not an upload (JSON bodies): parta/body_limit.py.
    max_json_bytes: int = 1024 * 1024
    # Multiplies every rate limit of parta/ratelimit.py (2 doubles them all).
    rate_limit_scale: float = Field(1.0, gt=0)
    sync_page_limit: int = 500
    sync_reset_after: int = Field(default=10_000, description="missed events before a reset")

    # History import (parta/migration/history): an uploaded export, its unpacked
    # size and entries, and the zone of exports that write local times (VK).
    history_max_upload_bytes: int = 512 * 1024 * 1024
    history_max_unpacked_bytes: int = 2 * 1024 * 1024 * 1024
    history_max_archive_entries: int = 50_000
    history_timezone: str = "Europe/Moscow"

    # Real-time delivery.
    redis_url: str = ""
    redis_prefix: str = ""
    tail_poll_seconds: float = 1.0
    # Live events that arrive within this window after a delivery go out together
    # (one frame per connection instead of several); the first after a pause is immediate.
    tail_coalesce_seconds: float = Field(0.025, ge=0, le=1)
    ws_auth_timeout: float = 10.0
    ws_idle_timeout: float = 60.0
    ws_send_timeout: float = 10.0
    ws_queue_limit: int = 2000
    # How often each process looks for due scheduled changes (chats closing at a set time).
    scheduler_poll_seconds: float = Field(5.0, gt=0)
    # How long an admin may undo a school-year rollover after it ran (parta/orgs/rollover.py).
    rollover_undo_hours: int = Field(72, ge=1, le=720)
    # Freeze start-up objects out of garbage collection (parta/runtime.py); off in tests,
    # which start many apps in one process.
    gc_tuning: bool = True

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'parta.db').resolve()}"

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @cached_property
    def resolved_secret_key(self) -> bytes:
        """The server secret (peppers code hashes); generated once into the data dir."""
        if key := self.secret_key.get_secret_value():
            return key.encode()
        path = self.data_dir / "secret.key"
        if not path.exists():
            import secrets

            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_hex(32))
            path.chmod(0o600)
        return path.read_text().strip().encode()
