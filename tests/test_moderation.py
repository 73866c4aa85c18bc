"""Reports and the moderation queues through the API: routing, each decision's
effect and audit entry, who may decide, bad input, suspended accounts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select

from parta import clock
from parta.db.tables import AuditEntry
from tests.client import Api, Factory, TestUser, error_code
from tests.org_factory import OrgFactory, School

REPORTS = "/api/v1/reports"
OPERATOR_REPORTS = "/api/v1/operator/reports"
NOBODY = 2**40


def _queue(school: School | int) -> str:
    org_id = school if isinstance(school, int) else school.id
    return f"/api/v1/orgs/{org_id}/reports"


def _resolve(school: School | int, report_id: int) -> str:
    return f"{_queue(school)}/{report_id}/resolve"


def _of_type(events: list[dict[str, Any]], type: str) -> list[dict[str, Any]]:
    return [e["data"] for e in events if e["type"] == type]


def _answer(response: httpx.Response) -> tuple[int, Any]:
    return response.status_code, response.json()


def _bad(response: httpx.Response, field: str) -> None:
    assert response.status_code == 400, response.text
    assert error_code(response) == "invalid_request" and response.json()["error"]["field"] == field


@dataclass
class ClassRoom:
    school: School
    klass: dict[str, Any]
    teacher: TestUser
    offender: TestUser
    reporter: TestUser
    message: dict[str, Any]


async def _class_room(orgs: OrgFactory) -> ClassRoom:
    school = await orgs.school()
    klass = await orgs.klass(school, "5А")
    teacher = await orgs.add(school, "teacher")
    await orgs.teach(school, klass["id"], teacher)
    offender = await orgs.add(school, "student", class_id=klass["id"])
    reporter = await orgs.add(school, "student", class_id=klass["id"])
    message = await orgs.make.message(offender, klass["chat_id"], "Плохие слова")
    return ClassRoom(school, klass, teacher, offender, reporter, message)


async def _report(api: Api, reporter: TestUser, **target: Any) -> dict[str, Any]:
    response = await api.as_(reporter).post(REPORTS, json={"reason": "abuse"} | target)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def _queued(api: Api, viewer: TestUser, url: str, **params: Any) -> list[dict[str, Any]]:
    response = await api.as_(viewer).get(url, params=params)
    assert response.status_code == 200, response.text
    reports: list[dict[str, Any]] = response.json()["reports"]
    return reports


async def _audit(api: Api, school: School) -> list[dict[str, Any]]:
    response = await api.as_(school.admin).get(f"/api/v1/orgs/{school.id}/audit")
    assert response.status_code == 200, response.text
    entries: list[dict[str, Any]] = response.json()["entries"]
    return entries


async def _decide(api: Api, school: School, report_id: int, action: str, **extra: Any) -> dict[str, Any]:
    response = await api.as_(school.admin).post(_resolve(school, report_id), json={"action": action} | extra)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# --- Reporting and routing -------------------------------------------------------


async def test_a_class_chat_message_report_reaches_the_school_admins(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    room = await _class_room(orgs)
    operator = await orgs.operator()
    admin_since = await api.as_(room.school.admin).last_event_id()
    offender_since = await api.as_(room.offender).last_event_id()
    body = {"message_id": room.message["id"], "reason": "abuse", "comment": "Обзывается"}

    created = await api.as_(room.reporter).post(REPORTS, json=body)
    repeated = await api.as_(room.reporter).post(REPORTS, json=body)

    assert created.status_code == 201 and repeated.status_code == 200
    report = created.json()
    assert repeated.json() == report
    assert report["status"] == "open" and report["target_user_id"] == room.offender.id
    assert report["message_id"] == room.message["id"]
    announced = _of_type(await api.as_(room.school.admin).sync(admin_since), "report.created")
    assert [(e["org_id"], e["report"]["id"]) for e in announced] == [(room.school.id, report["id"])]
    [queued] = await _queued(api, room.school.admin, _queue(room.school))
    assert queued["id"] == report["id"] and queued["reason"] == "abuse"
    assert queued["comment"] == "Обзывается"
    assert queued["message"]["text"] == "Плохие слова"
    assert queued["target"]["id"] == room.offender.id and queued["target"]["first_name"]
    assert queued["reporter"]["id"] == room.reporter.id
    # The reported person is not told; the operators do not see a school's report.
    assert "report" not in str(await api.as_(room.offender).sync(offender_since))
    assert await _queued(api, operator, OPERATOR_REPORTS) == []


async def test_reports_between_members_of_a_school_go_to_that_school(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    room = await _class_room(orgs)
    direct = await api.as_(room.offender).post("/api/v1/chats/direct", json={"user_id": room.reporter.id})
    private = await make.message(room.offender, direct.json()["id"], "Лично тебе")

    by_user = await _report(api, room.reporter, user_id=room.offender.id, reason="spam")
    by_message = await _report(api, room.reporter, message_id=private["id"])

    queued = await _queued(api, room.school.admin, _queue(room.school))
    assert [r["id"] for r in queued] == [by_user["id"], by_message["id"]]
    assert queued[1]["message"]["text"] == "Лично тебе"


async def test_a_report_outside_any_school_goes_to_the_operators(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    operator = await orgs.operator()
    other_school = await orgs.school()
    a, b = await make.users(2)
    await make.chat(a, [b])
    since = await api.as_(operator).last_event_id()

    report = await _report(api, a, user_id=b.id, reason="danger")

    announced = _of_type(await api.as_(operator).sync(since), "report.created")
    assert [e["report"]["id"] for e in announced] == [report["id"]]
    [queued] = await _queued(api, operator, OPERATOR_REPORTS)
    assert queued["target"]["id"] == b.id and queued["reason"] == "danger"
    assert await _queued(api, other_school.admin, _queue(other_school)) == []


# --- Decisions of a school's admins ------------------------------------------------


async def test_dismissing_is_audited_and_a_second_decision_conflicts(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    room = await _class_room(orgs)
    report = await _report(api, room.reporter, message_id=room.message["id"])
    since = await api.as_(room.school.admin).last_event_id()

    decided = await _decide(api, room.school, report["id"], "dismiss", note="Шутка")
    again = await api.as_(room.school.admin).post(
        _resolve(room.school, report["id"]), json={"action": "dismiss"}
    )

    assert decided["status"] == "dismissed" and decided["action"] == "dismiss"
    assert again.status_code == 409 and error_code(again) == "conflict"
    resolved = _of_type(await api.as_(room.school.admin).sync(since), "report.resolved")
    assert [e["report"]["status"] for e in resolved] == ["dismissed"]
    entry = (await _audit(api, room.school))[0]
    assert entry["action"] == "report.dismissed" and entry["actor_id"] == room.school.admin.id
    assert entry["target_user_id"] == room.offender.id
    assert entry["details"] == {
        "report_id": report["id"],
        "reason": "abuse",
        "message_id": room.message["id"],
        "note": "Шутка",
    }
    assert await _queued(api, room.school.admin, _queue(room.school), status="open") == []
    listed = await _queued(api, room.school.admin, _queue(room.school), status="dismissed")
    assert [r["id"] for r in listed] == [report["id"]]
    # Once decided, reporting the same message opens a new report.
    assert (await _report(api, room.reporter, message_id=room.message["id"]))["id"] != report["id"]


async def test_deleting_the_message_deletes_it_for_everyone(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    room = await _class_room(orgs)
    report = await _report(api, room.reporter, message_id=room.message["id"])
    since = await api.as_(room.teacher).last_event_id()

    # The admin is not in the class chat: moderation does not need chat rights.
    decided = await _decide(api, room.school, report["id"], "delete_message")

    assert decided["status"] == "actioned" and decided["action"] == "delete_message"
    url = f"/api/v1/chats/{room.klass['chat_id']}/messages/{room.message['id']}"
    shown = (await api.as_(room.teacher).get(url)).json()
    assert shown["is_deleted"] is True and "text" not in shown
    deleted = [e for e in await api.as_(room.teacher).sync(since) if e["type"] == "message.deleted"]
    assert [e["data"]["message"]["id"] for e in deleted] == [room.message["id"]]
    assert (await _audit(api, room.school))[0]["action"] == "report.message_deleted"
    [queued] = await _queued(api, room.school.admin, _queue(room.school))
    assert queued["message"]["is_deleted"] is True and "text" not in queued["message"]


async def test_removing_the_member_takes_them_out_of_the_school(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    room = await _class_room(orgs)
    report = await _report(api, room.reporter, message_id=room.message["id"])
    since = await api.as_(room.offender).last_event_id()

    decided = await _decide(api, room.school, report["id"], "remove_member")

    assert decided["action"] == "remove_member"
    left = _of_type(await api.as_(room.offender).sync(since), "org.left")
    assert [e["reason"] for e in left] == ["removed"]
    missing = await api.as_(room.offender).get(f"/api/v1/orgs/{room.school.id}")
    assert missing.status_code == 404 and error_code(missing) == "org_not_found"
    members = await orgs.chat_member_ids(room.teacher, room.klass["chat_id"])
    assert members == {room.teacher.id, room.reporter.id}
    actions = [e["action"] for e in await _audit(api, room.school)]
    assert actions[:2] == ["member.removed", "report.member_removed"]


async def test_suspending_the_member_takes_the_school_away_but_keeps_the_record(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    room = await _class_room(orgs)
    report = await _report(api, room.reporter, message_id=room.message["id"])
    since = await api.as_(room.offender).last_event_id()

    decided = await _decide(api, room.school, report["id"], "suspend_member")

    assert decided["action"] == "suspend_member"
    events = await api.as_(room.offender).sync(since)
    assert [e["reason"] for e in _of_type(events, "org.left")] == ["suspended"]
    assert [e["chat_id"] for e in _of_type(events, "chat.removed")] == [room.klass["chat_id"]]
    missing = await api.as_(room.offender).get(f"/api/v1/orgs/{room.school.id}")
    assert missing.status_code == 404 and error_code(missing) == "org_not_found"
    assert room.school.id not in [
        o["id"] for o in (await api.as_(room.offender).get("/api/v1/orgs")).json()["orgs"]
    ]
    directory = (await api.as_(room.school.admin).get(f"/api/v1/orgs/{room.school.id}/members")).json()
    assert room.offender.id not in [m.get("user_id") for m in directory["members"]]
    assert room.offender.id not in await orgs.chat_member_ids(room.teacher, room.klass["chat_id"])
    entry = (await _audit(api, room.school))[0]
    assert entry["action"] == "report.member_suspended"
    assert entry["target_member_id"] == room.school.member_id(room.offender)
    # Suspended, not gone: the school cannot add them again as if new.
    again = await api.as_(room.school.admin).post(
        f"/api/v1/orgs/{room.school.id}/members", json={"phone": room.offender.phone, "role": "student"}
    )
    assert again.status_code == 409


# --- Who may see and decide -------------------------------------------------------


async def test_only_the_schools_admins_see_and_decide_its_reports(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    room = await _class_room(orgs)
    report = await _report(api, room.reporter, message_id=room.message["id"])
    other = await orgs.school()
    outsider = await make.user()
    ex_admin = await orgs.add(room.school, "additional_admin")
    removed = await api.as_(room.school.admin).delete(
        f"/api/v1/orgs/{room.school.id}/members/{room.school.member_id(ex_admin)}"
    )
    assert removed.status_code == 204
    decide = {"action": "dismiss"}

    for member in (room.teacher, room.reporter):
        listed = await api.as_(member).get(_queue(room.school))
        assert listed.status_code == 403 and error_code(listed) == "forbidden"
        decided = await api.as_(member).post(_resolve(room.school, report["id"]), json=decide)
        assert decided.status_code == 403 and error_code(decided) == "forbidden"
    for stranger in (outsider, other.admin, ex_admin):
        listed = await api.as_(stranger).get(_queue(room.school))
        assert listed.status_code == 404 and error_code(listed) == "org_not_found"
        decided = await api.as_(stranger).post(_resolve(room.school, report["id"]), json=decide)
        assert decided.status_code == 404 and error_code(decided) == "org_not_found"
    elsewhere = await api.as_(other.admin).post(_resolve(other, report["id"]), json=decide)
    assert elsewhere.status_code == 404 and error_code(elsewhere) == "report_not_found"
    unknown = await api.as_(room.school.admin).post(_resolve(room.school, NOBODY), json=decide)
    assert _answer(unknown) == _answer(
        await api.as_(other.admin).post(_resolve(other, report["id"]), json=decide)
    )
    [queued] = await _queued(api, room.school.admin, _queue(room.school))
    assert queued["status"] == "open"


async def test_an_additional_admin_cannot_remove_or_suspend_an_admin(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    room = await _class_room(orgs)
    deputy = await orgs.add(room.school, "additional_admin")
    report = await _report(api, room.reporter, user_id=room.school.admin.id)

    for action in ("remove_member", "suspend_member"):
        decided = await api.as_(deputy).post(_resolve(room.school, report["id"]), json={"action": action})
        assert decided.status_code == 403 and decided.json()["error"]["reason"] == "not_main_admin"
    self_removal = await api.as_(room.school.admin).post(
        _resolve(room.school, report["id"]), json={"action": "remove_member"}
    )
    _bad(self_removal, "action")


async def test_the_operators_queue_is_for_operators_only(api: Api, make: Factory, orgs: OrgFactory) -> None:
    room = await _class_room(orgs)
    school_report = await _report(api, room.reporter, message_id=room.message["id"])
    operator = await orgs.operator()
    a, b = await make.users(2)
    await make.chat(a, [b])
    report = await _report(api, a, user_id=b.id)

    for user in (a, room.school.admin):
        listed = await api.as_(user).get(OPERATOR_REPORTS)
        assert listed.status_code == 403 and error_code(listed) == "forbidden"
        decided = await api.as_(user).post(
            f"{OPERATOR_REPORTS}/{report['id']}/resolve", json={"action": "dismiss"}
        )
        assert decided.status_code == 403 and error_code(decided) == "forbidden"
    # A school's report is not in the operators' queue, nor is the operator a school admin.
    elsewhere = await api.as_(operator).post(
        f"{OPERATOR_REPORTS}/{school_report['id']}/resolve", json={"action": "dismiss"}
    )
    assert elsewhere.status_code == 404 and error_code(elsewhere) == "report_not_found"
    as_admin = await api.as_(operator).get(_queue(room.school))
    assert as_admin.status_code == 403 and error_code(as_admin) == "forbidden"


# --- Bad input ---------------------------------------------------------------------


async def test_bad_reports_are_refused_with_the_field(api: Api, make: Factory, orgs: OrgFactory) -> None:
    room = await _class_room(orgs)
    msg = room.message["id"]
    reporter = api.as_(room.reporter)

    _bad(await reporter.post(REPORTS, json={"reason": "spam"}), "message_id")
    _bad(
        await reporter.post(REPORTS, json={"reason": "spam", "message_id": msg, "user_id": room.offender.id}),
        "message_id",
    )
    _bad(await reporter.post(REPORTS, json={"reason": "bogus", "message_id": msg}), "reason")
    _bad(
        await reporter.post(REPORTS, json={"reason": "spam", "message_id": msg, "comment": "x" * 1025}),
        "comment",
    )
    _bad(await reporter.post(REPORTS, json={"reason": "spam", "message_id": msg, "extra": 1}), "extra")
    _bad(await reporter.post(REPORTS, json={"reason": "spam", "user_id": room.reporter.id}), "user_id")
    _bad(await api.as_(room.offender).post(REPORTS, json={"reason": "spam", "message_id": msg}), "message_id")
    assert (await api.post(REPORTS, json={"reason": "spam", "message_id": msg})).status_code == 401


async def test_what_the_reporter_cannot_see_answers_not_found(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    room = await _class_room(orgs)
    outsider = await make.user()
    child = await make.user("Петя", "Маленький")
    assert (await api.as_(child).patch("/api/v1/me", json={"birth_date": "2016-05-01"})).status_code == 200

    hidden = await api.as_(outsider).post(REPORTS, json={"reason": "spam", "message_id": room.message["id"]})
    nothing = await api.as_(outsider).post(REPORTS, json={"reason": "spam", "message_id": NOBODY})
    assert hidden.status_code == 404 and error_code(hidden) == "message_not_found"
    assert _answer(hidden) == _answer(nothing)
    nobody = await api.as_(outsider).post(REPORTS, json={"reason": "spam", "user_id": NOBODY})
    a_child = await api.as_(outsider).post(REPORTS, json={"reason": "spam", "user_id": child.id})
    assert nobody.status_code == 404 and error_code(nobody) == "user_not_found"
    assert _answer(a_child) == _answer(nobody)


async def test_bad_decisions_are_refused_with_the_field(api: Api, make: Factory, orgs: OrgFactory) -> None:
    room = await _class_room(orgs)
    report = await _report(api, room.reporter, user_id=room.offender.id)
    admin = api.as_(room.school.admin)
    url = _resolve(room.school, report["id"])

    _bad(await admin.post(url, json={"action": "suspend_user"}), "action")
    _bad(await admin.post(url, json={"action": "delete_message"}), "action")
    _bad(await admin.post(url, json={"action": "dismiss", "note": "x" * 1025}), "note")
    _bad(await admin.get(_queue(room.school), params={"status": "closed"}), "status")
    _bad(await admin.get(_queue(room.school), params={"cursor": -1}), "cursor")
    [queued] = await _queued(api, room.school.admin, _queue(room.school))
    assert queued["status"] == "open"


# --- Operators -------------------------------------------------------------------


async def _operator_audit(api: Api) -> list[AuditEntry]:
    async with api.app.state.services.database.session() as db:
        rows = await db.execute(select(AuditEntry).where(AuditEntry.org_id.is_(None)).order_by(AuditEntry.id))
        return list(rows.scalars())


async def test_an_operator_deletes_a_reported_message(api: Api, make: Factory, orgs: OrgFactory) -> None:
    operator = await orgs.operator()
    a, b = await make.users(2)
    chat = await make.chat(a, [b])
    message = await make.message(b, chat["id"], "Реклама")
    report = await _report(api, a, message_id=message["id"], reason="spam")

    decided = await api.as_(operator).post(
        f"{OPERATOR_REPORTS}/{report['id']}/resolve", json={"action": "delete_message"}
    )

    assert decided.status_code == 200 and decided.json()["status"] == "actioned"
    shown = (await api.as_(a).get(f"/api/v1/chats/{chat['id']}/messages/{message['id']}")).json()
    assert shown["is_deleted"] is True
    [entry] = await _operator_audit(api)
    assert (entry.action, entry.actor_id, entry.target_user_id) == (
        "report.message_deleted",
        operator.id,
        b.id,
    )


async def _suspended_by_operator(api: Api, make: Factory, orgs: OrgFactory) -> tuple[TestUser, TestUser, str]:
    """A (the reporter) and B, whom an operator suspended on A's report; and the decision URL."""
    operator = await orgs.operator()
    a, b = await make.users(2)
    await make.chat(a, [b])
    report = await _report(api, a, user_id=b.id)
    assert (await api.as_(b).get("/api/v1/me")).status_code == 200
    url = f"{OPERATOR_REPORTS}/{report['id']}/resolve"
    decided = await api.as_(operator).post(url, json={"action": "suspend_user", "note": "Угрозы"})
    assert decided.status_code == 200, decided.text
    assert decided.json()["action"] == "suspend_user" and decided.json()["status"] == "actioned"
    return a, b, url


async def test_an_operator_suspends_an_account_whose_sessions_stop_working(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    a, b, _ = await _suspended_by_operator(api, make, orgs)

    gone = await api.as_(b).get("/api/v1/me")
    assert gone.status_code == 401 and error_code(gone) == "not_authenticated"
    [entry] = await _operator_audit(api)
    assert (entry.action, entry.target_user_id) == ("report.user_suspended", b.id)
    assert entry.details["note"] == "Угрозы"
    [queued] = await _queued(api, await orgs.operator(), OPERATOR_REPORTS)
    assert queued["status"] == "actioned" and queued["action"] == "suspend_user"
    # The reporter is unaffected.
    assert (await api.as_(a).get("/api/v1/me")).status_code == 200


async def test_a_suspended_account_cannot_sign_in(api: Api, make: Factory, orgs: OrgFactory) -> None:
    _, b, _ = await _suspended_by_operator(api, make, orgs)
    clock.travel(timedelta(minutes=2))  # past the resend interval of b's first code
    sent = await api.post("/api/v1/auth/code", json={"phone": b.phone})
    assert sent.status_code == 200
    code = api.last_code(sent.json()["phone"])

    refused = await api.post("/api/v1/auth/token", json={"phone": b.phone, "code": code, "device_name": "x"})

    assert refused.status_code == 401 and error_code(refused) == "not_authenticated"


async def test_a_decided_operator_report_conflicts(api: Api, make: Factory, orgs: OrgFactory) -> None:
    _, _, url = await _suspended_by_operator(api, make, orgs)
    again = await api.as_(await orgs.operator()).post(url, json={"action": "dismiss"})
    assert again.status_code == 409 and error_code(again) == "conflict"
