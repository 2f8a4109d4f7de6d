"""Who the top bar shows: the others on the same page, once each, never oneself."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from capital_app.realtime.presence import AVATARS, Company, Viewer, companies
from capital_app.ui.live import initials_of, others_of


def _v(token: str, user: str, name: str, page: str = "/") -> Viewer:
    return Viewer(client_token=token, user_id=user, name=name, page=page)


def test_others_on_the_same_page_once_each_without_oneself() -> None:
    viewers = [
        _v("t1", "me", "Me Myself"),
        _v("t2", "me", "Me Myself"),  # my other tab
        _v("t3", "u2", "zoe Kamau"),
        _v("t4", "u2", "zoe Kamau"),  # her second tab
        _v("t5", "u3", "Amina Otieno"),
        _v("t6", "u4", "Elsewhere Person", "/history"),
    ]
    answers = companies(viewers, {("/", "me"), ("/history", "u4"), ("/history", "me")})
    assert answers[("/", "me")] == Company((("u3", "Amina Otieno"), ("u2", "zoe Kamau")), 2)
    assert answers[("/history", "u4")] == Company((), 0)
    assert answers[("/history", "me")] == Company((("u4", "Elsewhere Person"),), 1)
    shown = others_of(answers[("/", "me")].payload()["others"])
    assert [(o.name, o.initials) for o in shown] == [("Amina Otieno", "AO"), ("zoe Kamau", "ZK")]


people = st.sampled_from([f"u{i}" for i in range(12)])
pages = st.sampled_from(["/", "/history", "/sources"])


@given(st.lists(st.tuples(people, pages), max_size=40), people, pages)
def test_each_answer_is_what_a_scan_of_every_tab_gives(
    tabs: list[tuple[str, str]], me: str, page: str
) -> None:
    """The shared computation equals the obvious per-tab one (the old code's)."""
    viewers = [_v(f"t{i}", user, f"Name {user}", p) for i, (user, p) in enumerate(tabs)]
    expected = sorted(
        {(v.user_id, v.name) for v in viewers if v.page == page and v.user_id != me},
        key=lambda o: (o[1].lower(), o[0]),
    )
    answer = companies(viewers, {(page, me)})[(page, me)]
    assert answer == Company(tuple(expected[:AVATARS]), len(expected))


def test_initials() -> None:
    assert initials_of("Amina Wanjiru Otieno") == "AW"
    assert initials_of("  ") == "?"
