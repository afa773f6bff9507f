"""A hub process moves what start-up loaded out of the cyclic collector's sight and collects its youngest generation
less often (hub/services/runner.py, settle_memory; the measurement in bench/README.md)."""
from __future__ import annotations

import gc
import weakref

import pytest

from hub.config import load_config
from hub.services import runner


class _Node:
    me: object = None


@pytest.fixture
def restored_gc():
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_settling_freezes_what_is_loaded_and_raises_the_young_threshold(restored_gc):
    gc.unfreeze()
    before = gc.get_threshold()
    runner.settle_memory()
    assert gc.get_freeze_count() > 1000, "the modules and config loaded so far are frozen"
    assert gc.get_threshold() == (runner.GC_YOUNG_THRESHOLD, *before[1:])
    # what is made afterwards is collected as usual: a cycle created now is still freed
    cycle = _Node()
    cycle.me = cycle
    alive = weakref.ref(cycle)
    del cycle
    gc.collect()
    assert alive() is None


def test_a_started_hub_process_settles_its_memory(monkeypatch, config_dir, tmp_path):
    config = load_config(config_dir, overrides={"store": f"sqlite:///{tmp_path}/hub.db"})
    process = runner.HubProcess(config, role="worker")
    settled = []
    monkeypatch.setattr(process.runtime, "start", lambda cancelled: True)
    monkeypatch.setattr(runner, "service_classes", lambda runtime, role: [])
    monkeypatch.setattr(runner, "settle_memory", lambda: settled.append(True))
    assert process.start() and settled == [True]


def test_a_green_thread_dump_still_sees_the_green_threads_started_before_the_freeze(restored_gc):
    import eventlet

    from hub.services.diagnostics import green_stacks

    def waits_for_the_bus_here() -> None:
        eventlet.sleep(60)

    thread = eventlet.spawn(waits_for_the_bus_here)
    eventlet.sleep(0)
    try:
        runner.settle_memory()
        assert any("waits_for_the_bus_here" in stack for stack in green_stacks())
        assert gc.get_freeze_count() > 0, "the dump lays the freeze again"
    finally:
        thread.kill()
