"""Organizations through the API: create, read, edit, verify, children, directory, audit."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import pytest
from click.testing import Result
from PIL import Image
from typer.testing import CliRunner

from parta import cli
from parta.orgs.organizations import create_operator
from tests.client import Api, Factory, TestUser, error_code, new_phone
from tests.org_factory import OrgFactory

SCHOOL: dict[str, Any] = {
    "kind": "school",
    "full_name": "МБОУ «Средняя общеобразовательная школа № 7»",
    "short_name": "Школа № 7",
    "region": "77",
}


async def _create(api: Api, user: TestUser, **fields: Any) -> dict[str, Any]:
    response = await api.as_(user).post("/api/v1/orgs", json=SCHOOL | fields)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_creator_becomes_admin_and_hears_of_it(api: Api, make: Factory) -> None:
    founder, outsider = await make.users(2)
    since = await api.as_(founder).last_event_id()

    org = await _create(api, founder, inn="7707083893", ogrn="1027700132195", phone="8 (495) 500-55-50")

    assert org["my_role"] == "admin" and org["is_verified"] is False
    assert org["inn"] == "7707083893" and org["phone"] == "+74955005550"
    fetched = await api.as_(founder).get(f"/api/v1/orgs/{org['id']}")
    assert fetched.status_code == 200 and fetched.json() == org
    assert error_code(await api.as_(outsider).get(f"/api/v1/orgs/{org['id']}")) == "org_not_found"
    events = await api.as_(founder).sync(since)
    joined = [e for e in events if e["type"] == "org.joined"]
    assert len(joined) == 1 and joined[0]["data"]["org"] == org
    assert joined[0]["data"]["role"] == "admin"


async def _make_operator(api: Api, user: TestUser) -> None:
    async with api.app.state.services.database.session() as db:
        await create_operator(db, user.phone)


async def _audit(api: Api, admin: TestUser, org_id: int, **params: Any) -> dict[str, Any]:
    response = await api.as_(admin).get(f"/api/v1/orgs/{org_id}/audit", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _types(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


BAD_INPUT = [
    ({"inn": "7707083894"}, "inn"),
    ({"ogrn": "1027700132196"}, "ogrn"),
    ({"inn": "7707083893", "ogrn": "304500116000157"}, "ogrn"),
    ({"region": "99"}, "region"),
    ({"region": 77}, "region"),
    ({"kind": "university"}, "kind"),
    ({"full_name": "  "}, "full_name"),
    ({"short_name": "Ш" * 65}, "short_name"),
    ({"address": "ул. Ленина\x00"}, "address"),
    ({"email": "school.ru"}, "email"),
    ({"website": "school.ru"}, "website"),
    ({"phone": "12345"}, "phone"),
    ({"parent_id": "1"}, "parent_id"),
    ({"logo_file_id": 1}, "logo_file_id"),
    ({"is_verified": True}, "is_verified"),
]


@pytest.mark.parametrize(("fields", "field"), BAD_INPUT)
async def test_create_refuses_bad_input_naming_the_field(
    api: Api, make: Factory, fields: dict[str, Any], field: str
) -> None:
    founder = await make.user()
    response = await api.as_(founder).post("/api/v1/orgs", json=SCHOOL | fields)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["field"] == field
    assert (await api.as_(founder).get("/api/v1/orgs")).json() == {"orgs": []}


async def test_create_needs_a_complete_profile(api: Api, make: Factory) -> None:
    nameless = await make.user("")
    response = await api.as_(nameless).post("/api/v1/orgs", json=SCHOOL)
    assert response.status_code == 403
    assert response.json()["error"]["reason"] == "profile_incomplete"


async def test_my_orgs_lists_only_active_memberships_with_role(api: Api, make: Factory) -> None:
    founder, other = await make.users(2)
    first = await _create(api, founder)
    second = await _create(api, founder, kind="kindergarten", short_name="Детсад № 3")
    await _create(api, other)

    listed = (await api.as_(founder).get("/api/v1/orgs")).json()["orgs"]

    assert [o["id"] for o in listed] == [first["id"], second["id"]]
    assert all(o["my_role"] == "admin" for o in listed)


async def test_admin_edits_card_and_members_hear_of_it(api: Api, make: Factory, orgs: OrgFactory) -> None:
    school = await orgs.school()
    teacher = await orgs.add(school, "teacher")
    since = await api.as_(teacher).last_event_id()
    url = f"/api/v1/orgs/{school.id}"

    response = await api.as_(school.admin).patch(
        url, json={"short_name": "Школа № 1 им. Пушкина", "website": "https://school1.ru", "municipality": ""}
    )

    assert response.status_code == 200, response.text
    org = response.json()
    assert org["short_name"] == "Школа № 1 им. Пушкина" and org["my_role"] == "admin"
    seen = (await api.as_(teacher).get(url)).json()
    assert seen["website"] == "https://school1.ru" and seen["my_role"] == "teacher"
    updated = [e for e in await api.as_(teacher).sync(since) if e["type"] == "org.updated"]
    assert len(updated) == 1
    assert updated[0]["data"]["org"]["short_name"] == "Школа № 1 им. Пушкина"
    assert "my_role" not in updated[0]["data"]["org"]
    entry = (await _audit(api, school.admin, school.id))["entries"][0]
    assert entry["action"] == "org.updated" and entry["actor_id"] == school.admin.id
    assert entry["details"] == {"fields": ["short_name", "website"]}


async def test_only_admins_of_the_org_edit_it(api: Api, make: Factory, orgs: OrgFactory) -> None:
    school = await orgs.school()
    teacher = await orgs.add(school, "teacher")
    other_school = await orgs.school()
    outsider = await make.user()
    url = f"/api/v1/orgs/{school.id}"
    change = {"short_name": "Чужая школа"}

    denied = await api.as_(teacher).patch(url, json=change)
    assert denied.status_code == 403 and denied.json()["error"]["reason"] == "not_org_admin"
    assert error_code(await api.as_(other_school.admin).patch(url, json=change)) == "org_not_found"
    assert error_code(await api.as_(outsider).patch(url, json=change)) == "org_not_found"
    assert (await api.as_(school.admin).get(url)).json()["short_name"] == "Школа № 1"


async def test_removed_member_no_longer_sees_or_edits_the_org(api: Api, orgs: OrgFactory) -> None:
    school = await orgs.school()
    deputy = await orgs.add(school, "additional_admin")
    url = f"/api/v1/orgs/{school.id}"
    assert (await api.as_(deputy).patch(url, json={"address": "ул. Ленина, 1"})).status_code == 200

    removed = await api.as_(school.admin).delete(f"{url}/members/{school.member_id(deputy)}")
    assert removed.status_code in (200, 204), removed.text

    assert error_code(await api.as_(deputy).patch(url, json={"address": "ул. Мира, 2"})) == "org_not_found"
    assert error_code(await api.as_(deputy).get(url)) == "org_not_found"
    assert error_code(await api.as_(deputy).get(f"{url}/audit")) == "org_not_found"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"region": None}, "region"),
        ({"full_name": ""}, "full_name"),
        ({"kind": "college"}, "kind"),
        ({"inn": "123"}, "inn"),
        ({"ogrn": "304500116000157"}, "ogrn"),  # the school's INN is an organization's
        ({"email": "director"}, "email"),
        ({"phone": "+7 000"}, "phone"),
        ({"logo_file_id": 10**9}, "logo_file_id"),
    ],
)
async def test_edit_refuses_bad_input_naming_the_field(
    api: Api, make: Factory, change: dict[str, Any], field: str
) -> None:
    founder = await make.user()
    org = await _create(api, founder, inn="7707083893")
    response = await api.as_(founder).patch(f"/api/v1/orgs/{org['id']}", json=change)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["field"] == field


async def test_edit_clears_optional_fields_and_a_no_op_is_silent(api: Api, make: Factory) -> None:
    founder = await make.user()
    org = await _create(api, founder, inn="7707083893", ogrn="1027700132195", email="a@school.ru")
    url = f"/api/v1/orgs/{org['id']}"
    since = await api.as_(founder).last_event_id()

    cleared = (await api.as_(founder).patch(url, json={"inn": None, "ogrn": "", "email": None})).json()
    assert not {"inn", "ogrn", "email"} & set(cleared)
    again = await api.as_(founder).patch(url, json={"inn": None, "short_name": org["short_name"]})
    assert again.status_code == 200

    assert _types(await api.as_(founder).sync(since)) == ["org.updated"]
    actions = [e["action"] for e in (await _audit(api, founder, org["id"]))["entries"]]
    assert actions == ["org.updated", "org.created"]


async def test_admin_sets_an_uploaded_image_as_logo(api: Api, make: Factory) -> None:
    founder, other = await make.users(2)
    org = await _create(api, founder)
    own = await _upload_image(api, founder)
    foreign = await _upload_image(api, other)
    url = f"/api/v1/orgs/{org['id']}"

    refused = await api.as_(founder).patch(url, json={"logo_file_id": foreign})
    assert refused.status_code == 400 and refused.json()["error"]["field"] == "logo_file_id"
    response = await api.as_(founder).patch(url, json={"logo_file_id": own})
    assert response.status_code == 200 and response.json()["logo_file_id"] == own
    removed = await api.as_(founder).patch(url, json={"logo_file_id": None})
    assert "logo_file_id" not in removed.json()


async def _upload_image(api: Api, user: TestUser) -> int:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, format="PNG")
    files = {"file": ("logo.png", buffer.getvalue(), "image/png")}
    response = await api.as_(user).put("/api/v1/me/avatar", files=files)
    assert response.status_code == 200, response.text
    return int(response.json()["avatar_file_id"])


async def test_operator_verifies_and_members_see_the_badge(api: Api, make: Factory) -> None:
    founder, operator = await make.users(2)
    await _make_operator(api, operator)
    org = await _create(api, founder, inn="7707083893", ogrn="1027700132195")
    url = f"/api/v1/orgs/{org['id']}/verification"
    since = await api.as_(founder).last_event_id()

    seen = (await api.as_(operator).get(f"/api/v1/orgs/{org['id']}")).json()
    assert seen["id"] == org["id"] and "my_role" not in seen
    response = await api.as_(operator).post(url)
    assert response.status_code == 200, response.text
    assert response.json()["is_verified"] is True and "verified_at" in response.json()
    assert (await api.as_(operator).post(url)).status_code == 200  # idempotent

    assert (await api.as_(founder).get(f"/api/v1/orgs/{org['id']}")).json()["is_verified"] is True
    events = await api.as_(founder).sync(since)
    assert _types(events) == ["org.verified"]
    assert events[0]["data"]["org"]["is_verified"] is True
    entry = (await _audit(api, founder, org["id"]))["entries"][0]
    assert entry["action"] == "org.verified" and entry["actor_id"] == operator.id

    since = await api.as_(founder).last_event_id()
    unverified = await api.as_(operator).delete(url)
    assert unverified.status_code == 200 and unverified.json()["is_verified"] is False
    assert _types(await api.as_(founder).sync(since)) == ["org.updated"]
    assert (await _audit(api, founder, org["id"]))["entries"][0]["action"] == "org.unverified"


async def test_only_operators_verify(api: Api, make: Factory) -> None:
    founder, outsider = await make.users(2)
    org = await _create(api, founder)
    url = f"/api/v1/orgs/{org['id']}/verification"

    denied = await api.as_(founder).post(url)
    assert denied.status_code == 403 and denied.json()["error"]["reason"] == "not_operator"
    assert (await api.as_(founder).delete(url)).json()["error"]["reason"] == "not_operator"
    assert error_code(await api.as_(outsider).post(url)) == "org_not_found"
    assert error_code(await api.as_(outsider).delete(url)) == "org_not_found"
    assert error_code(await api.as_(founder).post("/api/v1/orgs/999999/verification")) == "org_not_found"


async def test_an_operator_who_is_a_member_may_verify_their_org(api: Api, make: Factory) -> None:
    founder = await make.user()
    await _make_operator(api, founder)
    org = await _create(api, founder)
    response = await api.as_(founder).post(f"/api/v1/orgs/{org['id']}/verification")
    assert response.status_code == 200 and response.json()["my_role"] == "admin"


async def test_changing_identity_of_a_verified_org_removes_the_badge(api: Api, make: Factory) -> None:
    founder, operator = await make.users(2)
    await _make_operator(api, operator)
    org = await _create(api, founder, inn="7707083893")
    url = f"/api/v1/orgs/{org['id']}"
    await api.as_(operator).post(f"{url}/verification")

    kept = await api.as_(founder).patch(
        url, json={"short_name": "Школа № 7 (новое)", "phone": "+74955005550"}
    )
    assert kept.json()["is_verified"] is True
    lost = await api.as_(founder).patch(url, json={"inn": "7736207543"})
    assert lost.json()["is_verified"] is False
    entry = (await _audit(api, founder, org["id"]))["entries"][0]
    assert entry["details"] == {"fields": ["inn"], "verification_removed": True}


async def test_operator_queue_pages_unverified_orgs(api: Api, make: Factory) -> None:
    founder, operator = await make.users(2)
    await _make_operator(api, operator)
    ids = [(await _create(api, founder, short_name=f"Школа № {n}"))["id"] for n in range(3)]
    await api.as_(operator).post(f"/api/v1/orgs/{ids[1]}/verification")

    first = (
        await api.as_(operator).get("/api/v1/operator/orgs", params={"verified": "false", "limit": 1})
    ).json()
    assert [o["id"] for o in first["orgs"]] == [ids[0]]
    rest = await api.as_(operator).get(
        "/api/v1/operator/orgs", params={"verified": "false", "cursor": first["next_cursor"]}
    )
    assert [o["id"] for o in rest.json()["orgs"]] == [ids[2]] and "next_cursor" not in rest.json()
    verified = (await api.as_(operator).get("/api/v1/operator/orgs", params={"verified": "true"})).json()
    assert [o["id"] for o in verified["orgs"]] == [ids[1]]
    everything = (await api.as_(operator).get("/api/v1/operator/orgs")).json()
    assert [o["id"] for o in everything["orgs"]] == ids

    denied = await api.as_(founder).get("/api/v1/operator/orgs")
    assert denied.status_code == 403 and denied.json()["error"]["reason"] == "not_operator"
    bad = await api.as_(operator).get("/api/v1/operator/orgs", params={"limit": 0})
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "limit"


async def test_authority_files_child_orgs_and_sees_them(api: Api, make: Factory) -> None:
    head, other, operator = await make.users(3)
    await _make_operator(api, operator)
    authority = await _create(
        api, head, kind="authority", full_name="Департамент образования", short_name="ДО"
    )
    child = await _create(api, head, parent_id=authority["id"])
    assert child["parent_id"] == authority["id"] and child["my_role"] == "admin"
    url = f"/api/v1/orgs/{authority['id']}/children"

    assert [o["id"] for o in (await api.as_(head).get(url)).json()["orgs"]] == [child["id"]]
    assert [o["id"] for o in (await api.as_(operator).get(url)).json()["orgs"]] == [child["id"]]
    assert error_code(await api.as_(other).get(url)) == "org_not_found"
    refused = await api.as_(other).post("/api/v1/orgs", json=SCHOOL | {"parent_id": authority["id"]})
    assert error_code(refused) == "org_not_found"
    not_authority = await api.as_(head).post("/api/v1/orgs", json=SCHOOL | {"parent_id": child["id"]})
    assert not_authority.status_code == 400 and not_authority.json()["error"]["field"] == "parent_id"


async def test_only_admins_of_the_authority_see_or_file_children(api: Api, orgs: OrgFactory) -> None:
    authority = await orgs.school(kind="authority", full_name="Управление образования", short_name="УО")
    clerk = await orgs.add(authority, "staff")

    denied = await api.as_(clerk).get(f"/api/v1/orgs/{authority.id}/children")
    assert denied.status_code == 403 and denied.json()["error"]["reason"] == "not_org_admin"
    refused = await api.as_(clerk).post("/api/v1/orgs", json=SCHOOL | {"parent_id": authority.id})
    assert refused.status_code == 403 and refused.json()["error"]["reason"] == "not_org_admin"


async def test_directory_finds_only_verified_orgs(api: Api, make: Factory) -> None:
    founder, operator, seeker = await make.users(3)
    await _make_operator(api, operator)
    verified = await _create(api, founder, inn="7707083893", municipality="Тверской район")
    await _create(api, founder, short_name="Школа № 8", full_name="МБОУ СОШ № 8")
    spb = await _create(api, founder, short_name="Лицей № 2", full_name="ГБОУ Лицей № 2", region="78")
    for org in (verified, spb):
        await api.as_(operator).post(f"/api/v1/orgs/{org['id']}/verification")

    async def found(**params: str) -> list[int]:
        response = await api.as_(seeker).get("/api/v1/org-directory", params=params)
        assert response.status_code == 200, response.text
        return [o["id"] for o in response.json()["orgs"]]

    assert await found(q="школа") == [verified["id"]]
    assert await found(q="ЛИЦЕЙ") == [spb["id"]]
    assert await found(q="7707083893") == [verified["id"]]
    assert await found(q="сош") == []  # only the unverified school's name has it
    assert await found(q="ОУ", region="78") == [spb["id"]]
    assert sorted(await found(q="ОУ")) == sorted([verified["id"], spb["id"]])
    card = (await api.as_(seeker).get("/api/v1/org-directory", params={"q": "Школа № 7"})).json()["orgs"][0]
    assert card == {
        "id": verified["id"],
        "kind": "school",
        "short_name": "Школа № 7",
        "full_name": SCHOOL["full_name"],
        "region": "77",
        "municipality": "Тверской район",
        "is_verified": True,
    }
    for params, field in (({"q": "ш"}, "q"), ({"q": "школа", "region": "99"}, "region"), ({}, "q")):
        response = await api.as_(seeker).get("/api/v1/org-directory", params=params)
        assert response.status_code == 400 and response.json()["error"]["field"] == field


async def test_directory_treats_like_wildcards_literally(api: Api, make: Factory) -> None:
    founder, operator = await make.users(2)
    await _make_operator(api, operator)
    org = await _create(api, founder, short_name="Школа 100%")
    await api.as_(operator).post(f"/api/v1/orgs/{org['id']}/verification")
    response = await api.as_(founder).get("/api/v1/org-directory", params={"q": "_%"})
    assert response.json()["orgs"] == []


async def test_audit_log_pages_newest_first_for_admins_only(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    school = await orgs.school()
    teacher = await orgs.add(school, "teacher")
    other_school = await orgs.school()
    url = f"/api/v1/orgs/{school.id}"
    await api.as_(school.admin).patch(url, json={"address": "ул. Ленина, 1"})

    first = await _audit(api, school.admin, school.id, limit=1)
    assert [e["action"] for e in first["entries"]] == ["org.updated"]
    rest = await _audit(api, school.admin, school.id, before=first["next_before"], limit=200)
    actions = [e["action"] for e in rest["entries"]]
    assert actions[-1] == "org.created" and "next_before" not in rest

    denied = await api.as_(teacher).get(f"{url}/audit")
    assert denied.status_code == 403 and denied.json()["error"]["reason"] == "not_org_admin"
    assert error_code(await api.as_(other_school.admin).get(f"{url}/audit")) == "org_not_found"
    bad = await api.as_(school.admin).get(f"{url}/audit", params={"before": "x"})
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "before"


async def test_outsider_cannot_read_the_audit_log(api: Api, make: Factory) -> None:
    founder, outsider = await make.users(2)
    org = await _create(api, founder)
    assert error_code(await api.as_(outsider).get(f"/api/v1/orgs/{org['id']}/audit")) == "org_not_found"


async def test_cli_creates_an_operator_who_can_verify(api: Api, make: Factory) -> None:
    founder, existing = await make.users(2)
    org = await _create(api, founder)
    phone = new_phone()

    created = await _cli(api, "admin", "create-operator", phone)
    assert created.exit_code == 0, created.output
    assert "New account" in created.output and phone in created.output
    again = await _cli(api, "admin", "create-operator", phone)
    assert again.exit_code == 0 and "Already an operator" in again.output
    promoted = await _cli(api, "admin", "create-operator", existing.phone)
    assert promoted.exit_code == 0 and "Existing account" in promoted.output
    wrong = await _cli(api, "admin", "create-operator", "12345")
    assert wrong.exit_code == 1

    operator = await make.user("Ольга", "Операторова", phone=phone)
    response = await api.as_(operator).post(f"/api/v1/orgs/{org['id']}/verification")
    assert response.status_code == 200 and response.json()["is_verified"] is True
    assert (await api.as_(existing).delete(f"/api/v1/orgs/{org['id']}/verification")).status_code == 200


async def _cli(api: Api, *args: str) -> Result:
    env = {"PARTA_DATABASE_URL": api.settings.database_url, "PARTA_DATA_DIR": str(api.data_dir)}
    # The command runs its own event loop, so it gets a thread of its own.
    return await asyncio.to_thread(CliRunner().invoke, cli.app, list(args), env=env)


async def test_admin_sets_a_logo_everyone_can_see_and_a_teacher_cannot(
    api: Api, make: Factory, orgs: OrgFactory
) -> None:
    from tests.authz_world import PNG

    school = await orgs.school()
    teacher = await orgs.add(school, "teacher")
    stranger = await make.user()
    files = {"file": ("logo.png", PNG, "image/png")}
    refused = await api.as_(teacher).put(f"/api/v1/orgs/{school.id}/logo", files=files)
    assert (refused.status_code, error_code(refused)) == (403, "forbidden")
    hidden = await api.as_(stranger).put(f"/api/v1/orgs/{school.id}/logo", files=files)
    assert (hidden.status_code, error_code(hidden)) == (404, "org_not_found")
    since = await api.as_(teacher).last_event_id()
    response = await api.as_(school.admin).put(f"/api/v1/orgs/{school.id}/logo", files=files)
    assert response.status_code == 200, response.text
    logo = response.json()["logo_file_id"]
    # Public inside Parta, like an avatar: a stranger finding the school sees its logo.
    assert (await api.as_(stranger).get(f"/api/v1/files/{logo}")).content == PNG
    assert [
        e["data"]["org"]["logo_file_id"]
        for e in await api.as_(teacher).sync(since)
        if e["type"] == "org.updated"
    ] == [logo]
