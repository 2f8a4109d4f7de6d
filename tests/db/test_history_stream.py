"""Whole-history streams: capped per user and organization, read in pages that agree
with one another (as of the revision when the stream began), slots given back."""

from __future__ import annotations

from dataclasses import replace

import pytest

from capital_app.db.history_repository import HistoryFilter
from capital_app.service import history_stream
from capital_app.service.history_stream import TooManyStreams, open_history_stream
from capital_app.settings import get_settings
from tests.support.factories import add_source, make_tenant


def test_the_third_stream_of_a_user_is_refused_and_closing_one_frees_a_slot(tenant):
    actor = tenant.actor("VIEWER")
    assert get_settings().streams_per_user == 2
    first = open_history_stream(actor, HistoryFilter())
    second = open_history_stream(actor, HistoryFilter())
    with pytest.raises(TooManyStreams) as refused:
        open_history_stream(actor, HistoryFilter())
    assert refused.value.retry_after > 0
    # Another user of the organization still may (the organization's cap is 6).
    other = open_history_stream(tenant.actor("EDITOR"), HistoryFilter())
    list(first)  # read to the end: the slot comes back
    third = open_history_stream(actor, HistoryFilter())
    for stream in (second, other, third):
        stream.close()  # a client that left half-way gives its slot back too
    assert history_stream.SLOTS.open_count() == 0


def test_the_organization_cap_counts_every_user(tenant, monkeypatch):
    capped = replace(get_settings(), streams_per_organization=3)
    monkeypatch.setattr(history_stream, "get_settings", lambda: capped)
    streams = [open_history_stream(tenant.actor("ADMIN"), HistoryFilter()) for _ in range(2)]
    streams.append(open_history_stream(tenant.actor("EDITOR"), HistoryFilter()))
    with pytest.raises(TooManyStreams, match="organization"):
        open_history_stream(tenant.actor("VIEWER"), HistoryFilter())
    streams.append(open_history_stream(make_tenant().actor("ADMIN"), HistoryFilter()))
    for stream in streams:
        stream.close()
    assert history_stream.SLOTS.open_count() == 0


def test_pages_agree_as_of_the_revision_when_the_stream_began(tenant, monkeypatch):
    monkeypatch.setattr(history_stream, "PAGE", 2)  # several pages, a write between them
    for n in range(5):
        add_source(tenant.actor(), f"Loan {n}")
    stream = open_history_stream(tenant.actor("VIEWER"), HistoryFilter())
    first = next(stream)
    add_source(tenant.actor(), "Written meanwhile")
    rest = list(stream)
    names = [first.name, *(e.name for e in rest)]
    assert sorted(names) == [f"Loan {n}" for n in range(5)]
