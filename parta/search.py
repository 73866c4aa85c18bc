"""Full-text search over messages, finding Russian word forms on both databases.

SQLite: an FTS5 table holds each message's words already reduced to Snowball
stems ("учебники" and "учебника" are both stored as "учебник"), and queries are
stemmed the same way. PostgreSQL: a stored ``search_vector`` column
(``to_tsvector('russian', text)``, generated) with a GIN index.
One function, ``search_messages``, hides the difference.
"""

from __future__ import annotations

import re
from functools import lru_cache

import snowballstemmer
from sqlalchemy import and_, func, literal_column, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from parta.db.tables import ChatMember, Message, User
from parta.errors import InvalidInput
from parta.text import require_printable

WORD = re.compile(r"\w+", re.UNICODE)
CYRILLIC = re.compile(r"[а-я]")
MAX_QUERY = 256
MAX_QUERY_WORDS = 12


@lru_cache(maxsize=2)
def _stemmer(language: str) -> snowballstemmer.stemmer:
    return snowballstemmer.stemmer(language)


def stems(value: str) -> list[str]:
    """Lower-cased Snowball stems of the words in ``value`` (Russian or English)."""
    words = WORD.findall(value.lower().replace("ё", "е"))
    result = []
    for word in words:
        language = "russian" if CYRILLIC.search(word) else "english"
        result.append(_stemmer(language).stemWord(word))
    return result


def _is_sqlite(db: AsyncSession) -> bool:
    return db.get_bind().dialect.name == "sqlite"


async def index_message(db: AsyncSession, msg: Message) -> None:
    """(Re)index a message's text; PostgreSQL indexes by expression, nothing to do."""
    if not _is_sqlite(db):
        return
    await db.execute(text("DELETE FROM message_fts WHERE rowid = :id"), {"id": msg.id})
    body = " ".join(stems(msg.text or ""))
    if body:
        await db.execute(
            text("INSERT INTO message_fts (rowid, body) VALUES (:id, :body)"),
            {"id": msg.id, "body": body},
        )


async def unindex_message(db: AsyncSession, message_id: int) -> None:
    if _is_sqlite(db):
        await db.execute(text("DELETE FROM message_fts WHERE rowid = :id"), {"id": message_id})


def _check_query(query: str) -> str:
    cleaned = " ".join(require_printable(query, "q").split())
    if not cleaned:
        raise InvalidInput("Введите, что искать.", field="q")
    if len(cleaned) > MAX_QUERY:
        raise InvalidInput(f"Запрос не длиннее {MAX_QUERY} символов.", field="q")
    return cleaned


async def search_messages(
    db: AsyncSession, actor: User, query: str, *, chat_id: int | None, before: int | None, limit: int
) -> list[Message]:
    """Messages containing every word of ``query`` (any word form), newest first,
    only in chats the actor is a member of."""
    query = _check_query(query)
    visible = (
        select(Message)
        .join(ChatMember, and_(ChatMember.chat_id == Message.chat_id, ChatMember.user_id == actor.id))
        .where(Message.deleted_at.is_(None))
    )
    if chat_id is not None:
        visible = visible.where(Message.chat_id == chat_id)
    if before is not None:
        visible = visible.where(Message.id < before)
    if _is_sqlite(db):
        words = list(dict.fromkeys(stems(query)))[:MAX_QUERY_WORDS]
        if not words:
            return []
        match = " AND ".join('"' + w.replace('"', "") + '"' for w in words)
        ids = select(text("rowid")).select_from(text("message_fts")).where(text("message_fts MATCH :match"))
        visible = visible.where(Message.id.in_(ids)).params(match=match)
    else:
        # A stored generated column (migration 0002), stemmed once at write time.
        tsquery = func.plainto_tsquery(text("'russian'::regconfig"), query)
        visible = visible.where(literal_column("messages.search_vector").op("@@")(tsquery))
    rows = await db.execute(visible.order_by(Message.id.desc()).limit(limit))
    return list(rows.scalars())
