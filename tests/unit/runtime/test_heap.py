import gc

import pytest

from fakeai.runtime import heap


@pytest.fixture
def restored_gc():
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_settle_freezes_the_heap_built_so_far(restored_gc):
    built = [{"kept": i} for i in range(1000)]  # a start-up heap: containers that stay alive
    heap.settle()
    assert gc.get_freeze_count() >= len(built)
    scanned = {id(o) for generation in range(3) for o in gc.get_objects(generation)}
    assert not any(id(x) in scanned for x in built)  # no collection looks at them again


def test_settle_raises_only_the_young_threshold(restored_gc):
    _, older, oldest = gc.get_threshold()
    heap.settle()
    assert gc.get_threshold() == (heap.YOUNG_THRESHOLD, older, oldest)


def test_young_collections_wait_for_the_threshold(restored_gc):
    heap.settle()
    collections = gc.get_stats()[0]["collections"]
    alive = [[i] for i in range(heap.YOUNG_THRESHOLD // 2)]  # half the threshold: no collection
    assert gc.get_stats()[0]["collections"] == collections
    alive += [[i] for i in range(heap.YOUNG_THRESHOLD)]  # past it: one
    assert gc.get_stats()[0]["collections"] > collections
