"""A small verified school for the parent and moderation browser tests, set up
through the running server's API (and ``parta admin create-operator``, as a server
admin would). Every person and number is invented."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from tests.browser.conftest import WebServer
from tests.servers import ROOT


def birth_date(years: int) -> str:
    """A birth date making someone exactly ``years`` old today (born on 1 January)."""
    return date(date.today().year - years, 1, 1).isoformat()


def make_operator(server: WebServer, phone: str) -> None:
    env = os.environ | {
        "PARTA_DATA_DIR": str(server.data_dir),
        "PARTA_DATABASE_URL": f"sqlite:///{server.data_dir / 'parta.db'}",
    }
    command = [sys.executable, "-m", "parta", "admin", "create-operator", phone]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


@dataclass
class School:
    server: WebServer
    admin: str
    id: int
    class_id: int
    members: dict[str, int] = field(default_factory=dict)

    def add(self, phone: str, role: str, *, in_class: bool = False) -> int:
        body: dict[str, Any] = {"phone": phone, "role": role}
        if in_class:
            body["class_id"] = self.class_id
        member = self.server.api("POST", f"/orgs/{self.id}/members", self.admin, json=body)
        self.members[phone] = int(member["member_id"])
        return self.members[phone]

    def link(self, parent: str, child: str) -> None:
        body = {"parent_member_id": self.members[parent], "child_member_id": self.members[child]}
        self.server.api("POST", f"/orgs/{self.id}/parent-links", self.admin, json=body)


def verified_school(server: WebServer, admin: str, operator: str, *, class_name: str = "5А") -> School:
    """A school with one class, created by ``admin`` and verified by ``operator``."""
    server.sign_up(admin, "Анна", "Директорова")
    body = {
        "kind": "school",
        "full_name": "МБОУ «Школа № 7 (тест)»",
        "short_name": "Школа № 7",
        "region": "77",
    }
    org = server.api("POST", "/orgs", admin, json=body)
    server.sign_up(operator, "Ольга", "Операторова")
    make_operator(server, operator)
    server.api("POST", f"/orgs/{org['id']}/verification", operator)
    klass = server.api(
        "POST", f"/orgs/{org['id']}/classes", admin, json={"kind": "class", "name": class_name}
    )
    return School(server=server, admin=admin, id=int(org["id"]), class_id=int(klass["id"]))
