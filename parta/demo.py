"""Demo data for `make run`: a verified school with its people, classes and chats.

Everything is made through the same actions the API calls, so the demo has the
events, audit entries and auto-made class chats a real school would have.
Running it again changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from parta import accounts, messages
from parta.clock import utcnow
from parta.config import Settings
from parta.db.engine import command_session, transaction
from parta.db.tables import Organization, User
from parta.orgs import classes, members, organizations, parent_links
from parta.policy import OrgKind, OrgRole

SCHOOL = organizations.NewOrg(
    kind=OrgKind.school,
    full_name="МБОУ «Средняя общеобразовательная школа № 1» (демо)",
    short_name="Школа № 1 (демо)",
    region="77",
    municipality="г. Москва",
    address="ул. Школьная, д. 1",
    inn="7707083893",
    ogrn="1027700132195",
)
OPERATOR = ("+79000000000", "Ольга", "Операторова")
ADMIN = ("+79000000001", "Анна", "Директорова")
TEACHERS = (
    ("+79000000002", "Мария", "Петровна", "5А"),
    ("+79000000003", "Игорь", "Васильев", "7Б"),
    ("+79000000004", "Елена", "Соколова", "5А 7Б"),  # teaches both classes
)
# (phone, first, last, class, parent's phone, parent's first name)
STUDENTS = (
    ("+79000000011", "Петя", "Смирнов", "5А", "+79000000021", "Алексей"),
    ("+79000000012", "Маша", "Кузнецова", "5А", "+79000000022", "Ирина"),
    ("+79000000013", "Дима", "Попов", "7Б", "+79000000023", "Сергей"),
    ("+79000000014", "Аня", "Новикова", "7Б", "+79000000024", "Татьяна"),
)
CONVERSATIONS = {
    ("5А", "parents_chat_id"): (
        ("+79000000002", "Добрый вечер! Завтра экскурсия в музей, сбор в 8:30 у школы."),
        ("+79000000021", "Спасибо! Учебники брать?"),
        ("+79000000002", "Учебники не нужны, только сменную обувь."),
    ),
    ("5А", "chat_id"): (
        ("+79000000004", "Ребята, на завтра: параграф 12, упражнения 3 и 4."),
        ("+79000000011", "А упражнение 4 письменно?"),
    ),
    ("7Б", "parents_chat_id"): (
        ("+79000000003", "Уважаемые родители, родительское собрание в четверг в 18:00, кабинет 21."),
    ),
}


@dataclass
class DemoResult:
    created: bool
    users: list[tuple[str, str]] = field(default_factory=list)

    def summary(self) -> str:
        state = "Demo school created." if self.created else "Demo school already present."
        lines = [state, "Sign in with one of these phones; the code is in var/otp.log:"]
        lines += [f"  {phone}  {who}" for phone, who in self.users]
        return "\n".join(lines)


def _people() -> list[tuple[str, str]]:
    people = [(ADMIN[0], f"{ADMIN[1]} {ADMIN[2]}, администратор школы")]
    people += [(p, f"{f} {la}, учитель ({c})") for p, f, la, c in TEACHERS]
    people += [(p, f"{f} {la}, ученик {c}") for p, f, la, c, _, _ in STUDENTS]
    people += [(pp, f"{pf} {la}, родитель ({f}, {c})") for _, f, la, c, pp, pf in STUDENTS]
    people.append((OPERATOR[0], f"{OPERATOR[1]} {OPERATOR[2]}, оператор (подтверждает организации)"))
    return people


async def seed(settings: Settings) -> DemoResult:
    async with command_session(settings.resolved_database_url) as db:
        result = DemoResult(created=False, users=_people())
        existing = await db.execute(select(Organization.id).where(Organization.full_name == SCHOOL.full_name))
        if existing.first() is not None:
            return result
        await _school(db, settings)
        result.created = True
        return result


async def _school(db: AsyncSession, settings: Settings) -> None:
    admin = await _user(db, *ADMIN)
    org_id = (await organizations.create_org(db, admin, SCHOOL)).org.id
    await organizations.create_operator(db, OPERATOR[0])
    operator = await _user(db, *OPERATOR)
    await organizations.verify_org(db, operator, org_id)
    made = {name: await classes.create_class_group(db, admin, org_id, "class", name) for name in ("5А", "7Б")}
    teacher_members = {}
    for phone, first, last, taught in TEACHERS:
        await _user(db, phone, first, last)
        view = await members.add_member(
            db, admin, org_id, members.NewMember(phone=phone, role=OrgRole.teacher)
        )
        teacher_members[phone] = view.member.id
        for name in taught.split():
            await classes.add_teacher(db, admin, org_id, made[name]["id"], view.member.id)
    homeroom = {"5А": TEACHERS[0][0], "7Б": TEACHERS[1][0]}
    for name, phone in homeroom.items():
        change = classes.ClassChange(homeroom_member_id=teacher_members[phone])
        await classes.update_class(db, admin, org_id, made[name]["id"], change)
    for phone, first, last, name, parent_phone, parent_first in STUDENTS:
        await _user(db, phone, first, last)
        child = await members.add_member(
            db, admin, org_id, members.NewMember(phone=phone, role=OrgRole.student, class_id=made[name]["id"])
        )
        await _user(db, parent_phone, parent_first, last)
        parent = await members.add_member(
            db, admin, org_id, members.NewMember(phone=parent_phone, role=OrgRole.parent)
        )
        await parent_links.link_parent(
            db, admin, org_id, parent_member_id=parent.member.id, child_member_id=child.member.id
        )
    await _conversations(db, settings, made)


async def _conversations(db: AsyncSession, settings: Settings, made: dict[str, dict[str, int]]) -> None:
    for (name, which), lines in CONVERSATIONS.items():
        chat_id = made[name][which]
        for i, (phone, text) in enumerate(lines):
            author = (await db.execute(select(User).where(User.phone == phone))).scalar_one()
            new = messages.NewMessage(client_msg_id=f"demo-{chat_id}-{i}", text=text)
            await messages.send_message(db, settings, author, chat_id, new)


async def _user(db: AsyncSession, phone: str, first: str, last: str) -> User:
    user = (await db.execute(select(User).where(User.phone == phone))).scalar_one_or_none()
    if user is None:
        now = utcnow()
        async with transaction(db):
            user = User(phone=phone, first_name="", last_name="", created_at=now, updated_at=now)
            db.add(user)
    return await accounts.update_profile(db, user, accounts.ProfileChange(first_name=first, last_name=last))
