"""An ordered delivery behind one this process is handling waits for it here instead of parking (hub/in_hand.py,
HubRuntime._claim_ordered); behind one handled elsewhere it is parked in the store as before."""
from __future__ import annotations

import dataclasses
import threading
import time

import pytest

from hub.config import load_config
from hub.in_hand import InHand
from hub.message import Message
from hub.runtime import HubRuntime
from hub.store import Outcome
from hub.store.ordering import WAITING

CODE = "000.00.14.H20-231120-0001"
SYNC, STEP = "s1/dossier-sync-to-dvcqg", "p1/dossier-progress-to-dvcqg"


@pytest.fixture
def runtime(config_dir, tmp_path):
    rt = HubRuntime(load_config(config_dir, overrides={"store": f"sqlite:///{tmp_path}/hub.db"}))
    rt.store.migrate()
    for mid, mtype, route in (("s1", "dossier.sync", "dossier-sync-to-dvcqg"),
                              ("p1", "dossier.progress", "dossier-progress-to-dvcqg")):
        rt.store.accept(Message(id=mid, type=mtype, source="demo", payload={"dossier_code": CODE}, subject=CODE),
                        mid, [(route, "dvcqg")], [])
        time.sleep(0.002)
    yield rt
    rt.store.close()


def test_the_step_waits_here_for_the_state_and_nothing_is_parked(runtime):
    state = runtime.store.claim(SYNC, 60, ordered=True)
    assert state is not None
    got: list = []
    with runtime.in_hand.handling(SYNC):
        waiter = threading.Thread(target=lambda: got.append(runtime._claim_ordered("dvcqg", STEP, 60)))
        waiter.start()
        time.sleep(0.3)
        assert waiter.is_alive() and got == []                        # behind the state, waiting here
        runtime.store.finish(state, Outcome("delivered"), [])
    waiter.join(5)
    assert got and got[0] is not None and got[0].id == STEP           # claimed once the state was recorded
    assert runtime.store.delivery_state(STEP)["last_code"] != WAITING
    assert "waiting" not in [h["kind"] for h in runtime.store.message("p1")["hops"]]


def test_behind_a_delivery_handled_elsewhere_the_step_is_parked(runtime):
    assert runtime.store.claim(SYNC, 60, ordered=True) is not None     # claimed by another process
    assert runtime._claim_ordered("dvcqg", STEP, 60) is None
    parked = runtime.store.delivery_state(STEP)
    assert parked["state"] == "retry_wait" and parked["last_code"] == WAITING


def test_a_wait_is_bounded_then_the_step_is_parked(runtime, monkeypatch):
    monkeypatch.setitem(runtime.config.connectors, "dvcqg", dataclasses.replace(runtime.config.connectors["dvcqg"],
                                                                                timeout=0.2))
    assert runtime.store.claim(SYNC, 60, ordered=True) is not None
    with runtime.in_hand.handling(SYNC):                                # handled here, but never finishes
        started = time.monotonic()
        assert runtime._claim_ordered("dvcqg", STEP, 60) is None
        assert time.monotonic() - started < 3
    assert runtime.store.delivery_state(STEP)["state"] == "retry_wait"


def test_the_event_is_set_and_forgotten_even_when_handling_fails():
    hand = InHand()
    with pytest.raises(RuntimeError):
        with hand.handling("d1"):
            event = hand.event("d1")
            assert event is not None and not event.is_set() and len(hand) == 1
            raise RuntimeError("the outcome could not be recorded")
    assert event.is_set() and hand.event("d1") is None and len(hand) == 0


def test_a_step_arriving_while_its_state_is_still_being_claimed_waits_here(runtime, monkeypatch):
    """A dossier's state and its step come in one bus burst; the step's claim runs while the state's claim is still
    on its way to the store. The state is announced before its claim, so the step waits for it in this process
    (announced only once claimed, the step found the state pending, not in hand, and was parked)."""
    real_claim = runtime.store.claim
    sent: list[str] = []

    def slow_claim(did, *args, **kwargs):  # noqa: ANN001, ANN202
        if did == SYNC:
            time.sleep(0.3)                                             # the state's claim, still in the air
        return real_claim(did, *args, **kwargs)

    def attempt(claimed, guard=None):  # noqa: ANN001, ANN202
        sent.append(claimed.id)
        return Outcome("delivered"), []
    monkeypatch.setattr(runtime.store, "claim", slow_claim)
    monkeypatch.setattr(runtime.pipeline, "attempt", attempt)
    state = threading.Thread(target=runtime.dispatch, args=("dvcqg", {"delivery": SYNC}))
    state.start()
    time.sleep(0.05)
    assert runtime.in_hand.event(SYNC) is not None                      # announced before its claim
    runtime.dispatch("dvcqg", {"delivery": STEP})                       # waits here for the state, then claims
    state.join(5)
    assert sent == [SYNC, STEP]
    assert runtime.store.delivery_state(STEP)["state"] == "delivered"
    assert "waiting" not in [h["kind"] for h in runtime.store.message("p1")["hops"]]   # never parked
