"""Writing a page's view into the address bar without reloading it (issue 15, item 4).

How the URL and the view stay one (mechanism and Reflex file:line references in
docs/architecture.md, "Shareable views: the URL is the view"):

- Opening a URL, following a link, and the browser's back/forward buttons all end
  in the page's `on_load` (`PageState.load`), which reads the view from
  `self.router.url.query_parameters` (domain/view_query.py) and loads it.
- A change made on the page (a date picked, a filter, next page, back to today)
  is applied by its event at once, as before, and the event also sends
  `show_url(..., replace=False)`: one `history.pushState`, so the address bar holds
  the new view and Back returns to the previous one. It is deliberately not
  `rx.redirect`: that navigates through React Router, which runs the page's
  on_load again (a second read of everything just read).
- A URL that had to be corrected (a bad value dropped, a default spelled out) is
  rewritten in place (`replace=True`), so what is copied is what is shown.
"""

from __future__ import annotations

import json

import reflex as rx
from reflex.event import EventSpec

# React Router (which Reflex's frontend runs on) keeps {usr, key, idx} in each history
# entry and reads them back on popstate. It re-renders (and Reflex runs on_load) only if
# the popped entry differs from the location it last saw, key included
# (react-router's <Router> memoizes the location on pathname, search, hash, state and
# key). So before pushing, the entry being left gets a fresh key: coming back to it is
# always a change, even when it is the entry React Router last saw. The pushed entry
# has the same shape, so React Router's back/forward bookkeeping (`idx`) stays right.
# Nothing happens if the URL is shown already.
_SHOW_URL_JS = (
    "(function(u,r){{var h=window.history,s=h.state||{{}},"
    "k=function(){{return Math.random().toString(36).slice(2,10)}};"
    "if(location.pathname+location.search===u)return;"
    "h.replaceState(Object.assign({{}},s,{{key:k()}}),'',r?u:undefined);if(r)return;"
    "h.pushState({{usr:null,key:k(),idx:(typeof s.idx==='number'?s.idx:0)+1}},'',u);}})"
    "({url},{replace})"
)


def show_url_script(url: str, replace: bool) -> str:
    """The JavaScript that puts `url` (a path and query of this app) in the address bar."""
    if not url.startswith("/") or url.startswith("//"):
        raise ValueError(f"not a path of this app: {url!r}")
    # json.dumps escapes quotes and backslashes; "</" cannot end a script here (eval'd).
    return _SHOW_URL_JS.format(url=json.dumps(url), replace="true" if replace else "false")


def show_url(url: str, *, replace: bool) -> EventSpec:
    """An event that shows `url` in the address bar, pushing a history entry unless `replace`."""
    return rx.call_script(show_url_script(url, replace))
