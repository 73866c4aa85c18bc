"""Demo data for `make run`: a teacher, a parent and their class chat."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from parta import accounts, chats, messages
from parta.clock import utcnow
from parta.config import Settings
from parta.db.engine import Database, transaction
from parta.db.tables import Chat, User
from parta.events.bus import LocalBus
from parta.policy import ChatKind

DEMO_USERS = (
    ("+79000000001", "Мария", "Петровна"),
    ("+79000000002", "Алексей", "Смирнов"),
)
DEMO_CHAT = "5А — родители и учитель"
DEMO_MESSAGES = (
    (0, "Добрый вечер! Завтра экскурсия в музей, сбор в 8:30 у школы."),
    (1, "Спасибо! Учебники брать?"),
    (0, "Учебники не нужны, только сменную обувь."),
)


@dataclass
class DemoResult:
    created: bool
    users: list[tuple[str, str]] = field(default_factory=list)

    def summary(self) -> str:
        state = "Demo data created." if self.created else "Demo data already present."
        lines = [state, "Sign in with one of these phones; the code is in var/otp.log:"]
        lines += [f"  {phone}  {name}" for phone, name in self.users]
        return "\n".join(lines)


async def seed(settings: Settings) -> DemoResult:
    database = Database(settings.resolved_database_url, LocalBus())
    try:
        async with database.session() as db:
            names = [(phone, f"{first} {last}") for phone, first, last in DEMO_USERS]
            result = DemoResult(created=False, users=names)
            if (await db.execute(select(Chat).where(Chat.title == DEMO_CHAT))).first() is not None:
                return result
            users = [await _user(db, phone, first, last) for phone, first, last in DEMO_USERS]
            chat = await chats.create_chat(
                db, users[0], chats.NewChat(kind=ChatKind.group, title=DEMO_CHAT, member_ids=[users[1].id])
            )
            for i, (author, text) in enumerate(DEMO_MESSAGES):
                new = messages.NewMessage(client_msg_id=f"demo-{i}", text=text)
                await messages.send_message(db, settings, users[author], chat.id, new)
            result.created = True
            return result
    finally:
        await database.dispose()


async def _user(db: AsyncSession, phone: str, first: str, last: str) -> User:
    user = (await db.execute(select(User).where(User.phone == phone))).scalar_one_or_none()
    if user is None:
        now = utcnow()
        async with transaction(db):
            user = User(phone=phone, first_name="", last_name="", created_at=now, updated_at=now)
            db.add(user)
    return await accounts.update_profile(db, user, accounts.ProfileChange(first_name=first, last_name=last))
