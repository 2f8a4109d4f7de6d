"""Pending (optimistic) edits give way to loaded data that contains them."""

from __future__ import annotations

from capital_app.ui.state import PendingEdit, unconfirmed_additions, unconfirmed_change


def _pending(kind: str, source_id: str = "s1", sequence: int = 3, name: str = "KCB") -> PendingEdit:
    return PendingEdit(key=kind, kind=kind, source_id=source_id, name=name, sequence=sequence)


def test_a_change_is_pending_until_the_loaded_source_reaches_its_sequence():
    rate = _pending("rate", sequence=3)
    assert unconfirmed_change([rate], "s1", loaded_sequence=2) is rate
    assert unconfirmed_change([rate], "s1", loaded_sequence=3) is None  # the entry is loaded
    assert unconfirmed_change([rate], "s2", loaded_sequence=1) is None
    assert rate.label == "Saving…"
    assert _pending("remove").label == "Removing…"


def test_a_change_submitted_over_someone_elses_entry_stays_pending_until_answered():
    """The page showed sequence 3 (pushed live) before this edit of sequence 3 was sent."""
    late = PendingEdit(key="k", kind="rate", source_id="s1", name="KCB", sequence=3, stale=True)
    assert unconfirmed_change([late], "s1", loaded_sequence=3) is late


def test_an_addition_is_pending_until_an_active_source_has_its_name():
    added = _pending("add", source_id="", sequence=1, name="Stanbic Overdraft")
    assert unconfirmed_additions([added], {"kcb term loan"}) == [added]
    assert unconfirmed_additions([added], {"stanbic overdraft"}) == []
    assert unconfirmed_additions([_pending("rate")], set()) == []
