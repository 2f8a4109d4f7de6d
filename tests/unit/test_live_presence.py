"""Who the top bar shows: the others on the same page, once each, never oneself."""

from __future__ import annotations

from capital_app.ui.live import initials_of, others_on_page


def _v(token: str, user: str, name: str, page: str = "/") -> dict:
    return {"client_token": token, "user_id": user, "name": name, "page": page}


def test_others_on_the_same_page_once_each_without_oneself() -> None:
    viewers = [
        _v("t1", "me", "Me Myself"),
        _v("t2", "me", "Me Myself"),  # my other tab
        _v("t3", "u2", "zoe Kamau"),
        _v("t4", "u2", "zoe Kamau"),  # her second tab
        _v("t5", "u3", "Amina Otieno"),
        _v("t6", "u4", "Elsewhere Person", "/history"),
        "not a viewer",
    ]
    others = others_on_page(viewers, "/", "t1", "me")
    assert [(o.name, o.initials) for o in others] == [("Amina Otieno", "AO"), ("zoe Kamau", "ZK")]


def test_initials() -> None:
    assert initials_of("Amina Wanjiru Otieno") == "AW"
    assert initials_of("  ") == "?"
