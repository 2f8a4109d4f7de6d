"""The worker's startup heap is frozen, and full collections come less often."""

import gc

from capital_app.observe.gc_freeze import YOUNG_THRESHOLD_FACTOR, freeze_startup_heap


def test_startup_objects_are_frozen_and_the_young_threshold_raised() -> None:
    before = gc.get_threshold()
    survivor = [object() for _ in range(10)]  # alive through the collection
    try:
        frozen = freeze_startup_heap()
        assert frozen == gc.get_freeze_count() > len(survivor)
        young = gc.get_threshold()[0]
        assert young >= 700 * YOUNG_THRESHOLD_FACTOR
        freeze_startup_heap()  # a second call does not raise it again
        assert gc.get_threshold()[0] == young
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
