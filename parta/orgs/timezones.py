"""Organizations' local time: "09:00" in a school's announcement means 09:00 where the school is.

An organization's time zone is derived from its region (the federal subject code)
unless an admin set one explicitly; a region spanning several zones (Yakutia) gets
the zone of its capital, and a school elsewhere sets its own.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from parta.errors import InvalidInput

DEFAULT_TIMEZONE = "Europe/Moscow"
MAX_TIMEZONE = 64

# Regions whose time differs from Moscow's; every other region keeps Moscow time.
_REGION_ZONES: dict[str, str] = {
    "02": "Asia/Yekaterinburg", "03": "Asia/Irkutsk", "04": "Asia/Barnaul",
    "14": "Asia/Yakutsk", "17": "Asia/Krasnoyarsk", "18": "Europe/Samara",
    "19": "Asia/Krasnoyarsk", "22": "Asia/Barnaul", "24": "Asia/Krasnoyarsk",
    "25": "Asia/Vladivostok", "27": "Asia/Vladivostok", "28": "Asia/Yakutsk",
    "30": "Europe/Astrakhan", "34": "Europe/Volgograd", "38": "Asia/Irkutsk",
    "39": "Europe/Kaliningrad", "41": "Asia/Kamchatka", "42": "Asia/Novokuznetsk",
    "43": "Europe/Kirov", "45": "Asia/Yekaterinburg", "49": "Asia/Magadan",
    "54": "Asia/Novosibirsk", "55": "Asia/Omsk", "56": "Asia/Yekaterinburg",
    "59": "Asia/Yekaterinburg", "63": "Europe/Samara", "64": "Europe/Saratov",
    "65": "Asia/Sakhalin", "66": "Asia/Yekaterinburg", "70": "Asia/Tomsk",
    "72": "Asia/Yekaterinburg", "73": "Europe/Ulyanovsk", "74": "Asia/Yekaterinburg",
    "75": "Asia/Chita", "79": "Asia/Vladivostok", "86": "Asia/Yekaterinburg",
    "87": "Asia/Anadyr", "89": "Asia/Yekaterinburg", "91": "Europe/Simferopol",
    "92": "Europe/Simferopol",
}  # fmt: skip


def region_timezone(region: str) -> str:
    """The usual time zone of a federal subject (Moscow time when unknown)."""
    return _REGION_ZONES.get(region, DEFAULT_TIMEZONE)


def effective_timezone(*, region: str, timezone: str | None) -> str:
    """The zone an organization's local times are read in: its own, else its region's."""
    return timezone or region_timezone(region)


@cache
def _known() -> frozenset[str]:
    return frozenset(available_timezones())


def check_timezone(raw: str) -> str:
    """An IANA time zone name such as ``Asia/Yekaterinburg``; raises ``invalid_request``."""
    name = raw.strip()
    if len(name) > MAX_TIMEZONE or name not in _known():
        raise InvalidInput(
            "Неизвестный часовой пояс: нужно название вида Europe/Moscow или Asia/Yekaterinburg.",
            field="timezone",
        )
    return name


def zone(name: str) -> tzinfo:
    return ZoneInfo(name)


def local_to_utc(moment: datetime, timezone: str) -> datetime:
    """A moment typed without an offset is local time of ``timezone``; with one, it is kept."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    return moment.astimezone(UTC)
