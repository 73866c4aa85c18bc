"""Every organization route, called by every kind of wrong user.

The routes are read from the OpenAPI document, so a new org route is swept
automatically, and fails here until it is classified (admin-only or open to
members) and given a sample body. Wrong users:

- an outsider, the admin of another school and a removed member get exactly
  what a missing org id gets: 404 ``org_not_found`` (org ids cannot be probed);
- a teacher, a student and a parent of the school get 403 ``forbidden`` on every
  admin-only route.

Afterwards nothing has changed: the members, classes, invites and audit log are
as they were.
"""

from __future__ import annotations

import re
from typing import Any

from tests.client import Api, Factory, TestUser, error_code
from tests.org_factory import OrgFactory, School
from tests.test_access_sweep import PNG

# A valid sample request per route, so that the call passes validation and
# reaches the access check. "{name}" strings are replaced by the ids below.
SAMPLES: dict[tuple[str, str], dict[str, Any]] = {
    ("patch", "/orgs/{org_id}"): {"json": {"short_name": "Захват"}},
    ("put", "/orgs/{org_id}/logo"): {"files": {"file": ("logo.png", PNG, "image/png")}},
    ("post", "/orgs/{org_id}/members"): {"json": {"phone": "+79990001122", "role": "student"}},
    ("patch", "/orgs/{org_id}/members/{member_id}"): {"json": {"role": "parent"}},
    ("post", "/orgs/{org_id}/parent-links"): {
        "json": {"parent_member_id": "{parent_member_id}", "child_member_id": "{child_member_id}"}
    },
    ("post", "/orgs/{org_id}/parent-links/confirm"): {
        "json": {"parent_member_id": "{parent_member_id}", "child_member_id": "{child_member_id}"}
    },
    ("delete", "/orgs/{org_id}/parent-links"): {
        "params": {"parent_member_id": "{parent_member_id}", "child_member_id": "{child_member_id}"}
    },
    ("put", "/orgs/{org_id}/members/{member_id}/safe-mode"): {"json": {"enabled": True}},
    ("post", "/orgs/{org_id}/classes"): {"json": {"kind": "class", "name": "9Б"}},
    ("patch", "/orgs/{org_id}/classes/{class_id}"): {"json": {"name": "6А"}},
    ("post", "/orgs/{org_id}/invites"): {"json": {"role": "student"}},
    ("post", "/orgs/{org_id}/join-requests"): {"json": {"role": "parent"}},
    ("post", "/orgs/{org_id}/join-requests/{request_id}/approve"): {"json": {}},
    ("post", "/orgs/{org_id}/join-requests/{request_id}/decline"): {"json": {"reason": "Нет"}},
    ("post", "/orgs/{org_id}/reports/{report_id}/resolve"): {"json": {"action": "dismiss"}},
    # Admin-only, no body: listed so the sweep's table names every route it meets.
    ("get", "/orgs/{org_id}/archive-schedule"): {},
    ("post", "/orgs/{org_id}/history-imports"): {
        "files": {"file": ("history.json", b'{"format": "parta.history.v1", "messages": []}', "text/json")},
        "data": {"new_chat_title": "Архив"},
    },
    ("post", "/orgs/{org_id}/roster"): {
        "files": {
            "file": ("roster.csv", "ФИО;роль;телефон\nИван Петров;ученик;+79990001133\n".encode(), "text/csv")
        }
    },
    # School years, rollovers, transfers (tests/test_rollover.py, test_transfers.py).
    ("patch", "/orgs/{org_id}/school-year-settings"): {"json": {"last_grade": 9}},
    ("post", "/orgs/{org_id}/rollovers"): {"json": {}},
    ("post", "/orgs/{org_id}/rollovers/preview"): {"json": {}},
    ("post", "/orgs/{org_id}/members/{member_id}/transfer"): {"json": {"class_id": "{class_id}"}},
    ("post", "/orgs/{org_id}/transfers/{transfer_id}/accept"): {"json": {"class_id": "{class_id}"}},
    ("post", "/orgs/{org_id}/chat-manifests"): {
        "files": {"file": ("chats.csv", "Чат;Телефон\nРодители 5А;+79990001144\n".encode(), "text/csv")}
    },
}

# Routes a plain member may call (each with its own finer rules, tested in its
# own module); every other org route is for admins (and operators) only.
OPEN_TO_MEMBERS = {
    ("get", "/orgs/{org_id}"),
    ("get", "/orgs/{org_id}/members"),
    ("get", "/orgs/{org_id}/classes"),
    ("get", "/orgs/{org_id}/classes/{class_id}"),
    ("post", "/orgs/{org_id}/leave"),
    ("post", "/orgs/{org_id}/parent-links"),
    ("delete", "/orgs/{org_id}/parent-links"),
    ("get", "/orgs/{org_id}/parent-links"),
    ("post", "/orgs/{org_id}/join-requests"),
}


def _fill(value: Any, ids: dict[str, int]) -> Any:
    if isinstance(value, str) and re.fullmatch(r"\{\w+\}", value):
        return ids[value[1:-1]]
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


def _org_routes(api: Api) -> list[tuple[str, str]]:
    paths = api.app.openapi()["paths"]
    routes = [
        (method, template.removeprefix("/api/v1"))
        for template, operations in paths.items()
        if "{org_id}" in template
        for method in operations
    ]
    return sorted(routes)


async def _school_with_everyone(api: Api, make: Factory, orgs: OrgFactory) -> tuple[School, dict[str, Any]]:
    school = await orgs.school()
    klass = await orgs.klass(school, "5А")
    group = await orgs.klass(school, "Робототехника", kind="group")
    teacher = await orgs.add(school, "teacher")
    student = await orgs.add(school, "student", class_id=klass["id"])
    parent = await orgs.add(school, "parent")
    await orgs.link(school, parent, student)
    await orgs.teach(school, klass["id"], teacher)
    # The member the member routes act on: none of the callers (calling DELETE
    # on one's own membership is leaving, which every member may do).
    target = await orgs.add(school, "student", class_id=klass["id"])
    removed = await orgs.add(school, "teacher")
    gone = await api.as_(school.admin).delete(f"/api/v1/orgs/{school.id}/members/{school.member_id(removed)}")
    assert gone.status_code in (200, 204), gone.text
    link = await api.as_(school.admin).post(
        f"/api/v1/orgs/{school.id}/invites", json={"role": "parent", "requires_approval": True}
    )
    report = await api.as_(student).post("/api/v1/reports", json={"user_id": target.id, "reason": "spam"})
    assert report.status_code == 201, report.text
    asker = await make.user()
    token = link.json()["token"]
    request = await api.as_(asker).post(f"/api/v1/org-invites/{token}/join")
    assert request.status_code == 202, request.text
    ids = {
        "org_id": school.id,
        "class_id": klass["id"],
        "group_id": group["id"],
        "member_id": school.member_id(target),
        "child_member_id": school.member_id(student),
        "parent_member_id": school.member_id(parent),
        "invite_id": link.json()["invite"]["id"],
        "request_id": request.json()["join_request"]["id"],
        "report_id": report.json()["id"],
        "chat_id": klass["chat_id"],  # migration routes: rights are checked before the chat
        "rollover_id": 1,  # rollovers and transfers: rights are checked before the id
        "transfer_id": 1,
    }
    people = {"teacher": teacher, "student": student, "parent": parent, "removed": removed, "ids": ids}
    return school, people


def _ids_for(template: str, ids: dict[str, int]) -> dict[str, int]:
    # Group-only routes get the group as their class.
    if template.endswith("/members/{member_id}") and "/classes/" in template:
        return ids | {"class_id": ids["group_id"]}
    return ids


async def _call(api: Api, user: TestUser, method: str, template: str, ids: dict[str, int]) -> tuple[int, str]:
    sample = SAMPLES.get((method, template), {})
    url = "/api/v1" + template.format(**ids)
    response = await api.as_(user).request(method.upper(), url, **_fill(sample, ids))
    return response.status_code, error_code(response) if response.status_code >= 400 else ""


async def _state(api: Api, school: School) -> dict[str, Any]:
    admin = api.as_(school.admin)
    base = f"/api/v1/orgs/{school.id}"
    return {
        "org": (await admin.get(base)).json(),
        "members": (await admin.get(f"{base}/members")).json(),
        "classes": (await admin.get(f"{base}/classes")).json(),
        "invites": (await admin.get(f"{base}/invites")).json(),
        "links": (await admin.get(f"{base}/parent-links")).json(),
        "requests": (await admin.get(f"{base}/join-requests")).json(),
        "audit": (await admin.get(f"{base}/audit")).json(),
        "reports": (await admin.get(f"{base}/reports")).json(),
    }


async def test_strangers_get_the_same_404_as_for_a_missing_org(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    school, people = await _school_with_everyone(api, make, orgs)
    other = await orgs.school(full_name="МБОУ «Гимназия № 2»", short_name="Гимназия № 2")
    outsider = await make.user()
    before = await _state(api, school)
    ids = people["ids"]
    missing = ids | {"org_id": 10**9}
    routes = _org_routes(api)
    for method, template in routes:
        for who, user in (
            ("outsider", outsider),
            ("other admin", other.admin),
            ("removed", people["removed"]),
        ):
            real = await _call(api, user, method, template, _ids_for(template, ids))
            absent = await _call(api, user, method, template, _ids_for(template, missing))
            assert real == absent == (404, "org_not_found"), (who, method, template, real, absent)
    assert len(routes) >= 30
    assert await _state(api, school) == before


async def test_members_without_admin_rights_are_refused_every_admin_route(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    school, people = await _school_with_everyone(api, make, orgs)
    before = await _state(api, school)
    swept = 0
    for method, template in _org_routes(api):
        if (method, template) in OPEN_TO_MEMBERS:
            continue
        for role in ("teacher", "student", "parent"):
            answer = await _call(api, people[role], method, template, _ids_for(template, people["ids"]))
            assert answer == (403, "forbidden"), (role, method, template, answer)
        swept += 1
    assert swept >= 20
    assert await _state(api, school) == before


def test_every_org_route_is_classified(api: Api) -> None:
    """A new org route must be put in OPEN_TO_MEMBERS or left admin-only on purpose:
    a body it needs must be in SAMPLES, or the sweeps above would stop at validation."""
    needs_body = {
        (method, template.removeprefix("/api/v1"))
        for template, operations in api.app.openapi()["paths"].items()
        if "{org_id}" in template
        for method, operation in operations.items()
        if operation.get("requestBody", {}).get("required")
    }
    assert needs_body <= set(SAMPLES), sorted(needs_body - set(SAMPLES))
