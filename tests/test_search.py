"""Full-text search: Russian word forms, only in chats the user can see."""

from __future__ import annotations

from tests.client import Api, Factory, error_code


async def test_finds_russian_word_forms(api: Api, make: Factory) -> None:
    teacher, parent = await make.users(2)
    chat = await make.chat(teacher, [parent])
    books = await make.message(teacher, chat["id"], "Принесите учебники по математике")
    book = await make.message(teacher, chat["id"], "У кого нет учебника, подойдите ко мне")
    await make.message(teacher, chat["id"], "Завтра контрольная")
    found = (await api.as_(parent).get("/api/v1/search", params={"q": "учебник"})).json()["messages"]
    assert [m["id"] for m in found] == [book["id"], books["id"]]  # newest first
    both_words = (await api.as_(parent).get("/api/v1/search", params={"q": "учебники математика"})).json()
    assert [m["id"] for m in both_words["messages"]] == [books["id"]]


async def test_yo_and_case_do_not_matter(api: Api, make: Factory) -> None:
    teacher = await make.user()
    chat = await make.chat(teacher, [])
    msg = await make.message(teacher, chat["id"], "ЁЛКА во дворе школы")
    found = (await api.as_(teacher).get("/api/v1/search", params={"q": "елка"})).json()["messages"]
    assert [m["id"] for m in found] == [msg["id"]]


async def test_search_sees_only_own_chats_and_live_text(api: Api, make: Factory) -> None:
    teacher, parent, outsider = await make.users(3)
    chat = await make.chat(teacher, [parent])
    secret = await make.message(teacher, chat["id"], "Пароль от кабинета информатики")
    assert (await api.as_(outsider).get("/api/v1/search", params={"q": "пароль"})).json()["messages"] == []
    await api.as_(teacher).patch(
        f"/api/v1/chats/{chat['id']}/messages/{secret['id']}", json={"text": "Ключ у завуча"}
    )
    assert (await api.as_(parent).get("/api/v1/search", params={"q": "пароль"})).json()["messages"] == []
    found = (await api.as_(parent).get("/api/v1/search", params={"q": "ключ"})).json()["messages"]
    assert [m["id"] for m in found] == [secret["id"]]


async def test_search_within_one_chat_and_paging(api: Api, make: Factory) -> None:
    teacher, parent = await make.users(2)
    a = await make.chat(teacher, [parent], title="A")
    b = await make.chat(teacher, [parent], title="B")
    ids = [(await make.message(teacher, a["id"], f"собрание номер {i}"))["id"] for i in range(3)]
    await make.message(teacher, b["id"], "собрание в другом чате")
    page = (
        await api.as_(parent).get("/api/v1/search", params={"q": "собрания", "chat_id": a["id"], "limit": 2})
    ).json()
    assert [m["id"] for m in page["messages"]] == [ids[2], ids[1]] and page["has_more"] is True
    rest = (
        await api.as_(parent).get(
            "/api/v1/search", params={"q": "собрания", "chat_id": a["id"], "before": ids[1]}
        )
    ).json()
    assert [m["id"] for m in rest["messages"]] == [ids[0]] and rest["has_more"] is False


async def test_bad_queries_get_clear_errors(api: Api, make: Factory) -> None:
    teacher = await make.user()
    for params in ({"q": ""}, {"q": "   "}, {"q": "я" * 300}, {}, {"q": "x", "limit": 0}, {"q": "a\x00b"}):
        response = await api.as_(teacher).get("/api/v1/search", params=params)
        assert response.status_code == 400 and error_code(response) == "invalid_request"
    quotes = await api.as_(teacher).get("/api/v1/search", params={"q": '"OR" * NEAR( учебник'})
    assert quotes.status_code == 200
