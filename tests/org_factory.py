"""Building organizations through the public API, like an admin would.

``school = await OrgFactory(api, make).school()`` gives a school with an admin;
then ``add``, ``klass``, ``link`` put people, classes and families into it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.client import Api, Factory, TestUser, new_phone


@dataclass
class School:
    id: int
    admin: TestUser
    admin_member_id: int
    members: dict[int, int] = field(default_factory=dict)  # user id -> member id

    def member_id(self, user: TestUser) -> int:
        return self.members[user.id]


@dataclass
class OrgFactory:
    api: Api
    make: Factory

    async def school(self, admin: TestUser | None = None, **fields: Any) -> School:
        admin = admin or await self.make.user("Анна", "Директорова")
        body = {
            "kind": "school",
            "full_name": "МБОУ «Средняя общеобразовательная школа № 1»",
            "short_name": "Школа № 1",
            "region": "77",
        } | fields
        response = await self.api.as_(admin).post("/api/v1/orgs", json=body)
        assert response.status_code == 201, response.text
        org = response.json()
        members = (await self.api.as_(admin).get(f"/api/v1/orgs/{org['id']}/members")).json()["members"]
        me = next(m for m in members if m.get("user_id") == admin.id)
        return School(
            id=org["id"], admin=admin, admin_member_id=me["member_id"], members={admin.id: me["member_id"]}
        )

    async def operator(self) -> TestUser:
        """An operator, made the way a server admin does it (``parta admin create-operator``)."""
        from parta.orgs.organizations import create_operator

        user = await self.make.user("Ольга", "Операторова")
        async with self.api.app.state.services.database.session() as db:
            await create_operator(db, user.phone)
        return user

    async def verify(self, school: School) -> None:
        operator = await self.operator()
        response = await self.api.as_(operator).post(f"/api/v1/orgs/{school.id}/verification")
        assert response.status_code == 200, response.text

    async def add(
        self, school: School, role: str, user: TestUser | None = None, *, class_id: int | None = None
    ) -> TestUser:
        """A person with an account, added by phone by the school's admin."""
        user = user or await self.make.user()
        body: dict[str, Any] = {"phone": user.phone, "role": role}
        if class_id is not None:
            body["class_id"] = class_id
        response = await self.api.as_(school.admin).post(f"/api/v1/orgs/{school.id}/members", json=body)
        assert response.status_code == 201, response.text
        school.members[user.id] = response.json()["member_id"]
        return user

    async def add_pending(self, school: School, role: str, **extra: Any) -> tuple[str, dict[str, Any]]:
        """A membership for a phone nobody has signed in with yet."""
        phone = new_phone()
        response = await self.api.as_(school.admin).post(
            f"/api/v1/orgs/{school.id}/members", json={"phone": phone, "role": role} | extra
        )
        assert response.status_code == 201, response.text
        return phone, response.json()

    async def klass(self, school: School, name: str = "5А", kind: str = "class") -> dict[str, Any]:
        response = await self.api.as_(school.admin).post(
            f"/api/v1/orgs/{school.id}/classes", json={"kind": kind, "name": name}
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    async def teach(self, school: School, class_id: int, teacher: TestUser) -> None:
        response = await self.api.as_(school.admin).put(
            f"/api/v1/orgs/{school.id}/classes/{class_id}/teachers/{school.member_id(teacher)}"
        )
        assert response.status_code == 200, response.text

    async def link(self, school: School, parent: TestUser, child: TestUser) -> None:
        response = await self.api.as_(school.admin).post(
            f"/api/v1/orgs/{school.id}/parent-links",
            json={"parent_member_id": school.member_id(parent), "child_member_id": school.member_id(child)},
        )
        assert response.status_code == 201, response.text

    async def chat_member_ids(self, viewer: TestUser, chat_id: int) -> set[int]:
        response = await self.api.as_(viewer).get(f"/api/v1/chats/{chat_id}/members")
        assert response.status_code == 200, response.text
        return {m["id"] for m in response.json()["members"]}
