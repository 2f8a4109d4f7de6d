"""After signing in, people land where the link pointed — never on another site."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest

from capital_app.ui.navigation import login_path, safe_next
from capital_app.ui.url_state import show_url_script


@pytest.mark.parametrize(
    "place",
    [
        "/history?asOf=2025-03-31&knownAt=2025-04-02T10:00:00Z&tz=Africa/Nairobi&source=a+b",
        "/sources/src_1?asOf=2025-01-01&tz=UTC",
        "/",
        "/users",
    ],
)
def test_a_page_of_the_app_comes_back_whole_through_the_login_url(place: str) -> None:
    login = login_path(place)
    next_value = dict(parse_qsl(urlsplit(login).query)).get("next", "/")
    assert safe_next(next_value) == place
    if place == "/":
        assert login == "/login"  # home needs no reminder (and the plain URL stays plain)
    else:
        assert login.startswith("/login?next=/")


@pytest.mark.parametrize(
    "place",
    [
        None,
        "",
        "history",
        "//evil.example/x",
        "/\\evil.example",
        "https://evil.example/",
        "/login?next=/history",
        "/login/",
        "/api/wacc",
        "/api",
        "/history#frag",
        "/his\ntory",
        "/" + "a" * 3000,
    ],
)
def test_anything_else_goes_home(place: str | None) -> None:
    assert safe_next(place) == "/"


def test_the_address_bar_script_takes_only_app_paths_and_quotes_them() -> None:
    script = show_url_script('/history?source=x");alert(1);("', replace=False)
    assert '"/history?source=x\\");alert(1);(\\""' in script
    assert script.endswith(",false)")
    assert show_url_script("/", replace=True).endswith(",true)")
    for bad in ("https://evil.example/", "//evil.example", "history"):
        with pytest.raises(ValueError):
            show_url_script(bad, replace=True)
