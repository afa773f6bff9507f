"""A handler stopped at its lease (hub.stuck, raised where it waited) is requeued by the dispatcher: the pipeline
lets it through instead of turning it into a dead letter (which broke a dossier's order: its later updates went out
and the portal refused them as impossible transitions, seen in the DVCQG e2e under load)."""
from __future__ import annotations

import pytest

from hub import errors, registry
from hub.config.model import HubConfig, HubSettings, RouteConfig, Step
from hub.contracts import Connector, Reply
from hub.errors import HubError
from hub.message import Message, utcnow
from hub.pipeline import Pipeline
from hub.store import ClaimedDelivery


class Waiting(Connector):
    type_name = "test-waiting"
    capabilities = frozenset({"send"})

    def __init__(self, error: HubError) -> None:
        super().__init__("waiting", {}, None)
        self.error = error

    def send(self, delivery) -> Reply:  # noqa: ANN001
        raise self.error


@registry.transforms.register("test-stuck-transform")
def _stuck(body, ctx):  # noqa: ANN001, ANN202
    raise HubError(errors.STUCK, "ran past its lease")


def attempt(connector: Waiting, steps: tuple = ()):  # noqa: ANN201
    route = RouteConfig(name="r", types=("demo.ping",), to=connector.name, steps=steps)
    config = HubConfig(directory="config", settings=HubSettings(), clients={}, connectors={}, routes=(route,))
    message = Message(id="m-1", type="demo.ping", source="demo", payload={"text": "x"})
    claimed = ClaimedDelivery(id="m-1/r", message=message, route="r", connector=connector.name, attempts=1,
                              window_start=utcnow())
    return Pipeline(config, {connector.name: connector}).attempt(claimed)


def test_stopped_while_sending_is_raised_not_dead():
    with pytest.raises(HubError) as info:
        attempt(Waiting(HubError(errors.STUCK, "ran past its lease")))
    assert info.value.code == errors.STUCK


def test_stopped_in_a_transform_is_raised_not_dead():
    with pytest.raises(HubError) as info:
        attempt(Waiting(HubError(errors.STUCK, "unused")), (Step("transform", "test-stuck-transform"),))
    assert info.value.code == errors.STUCK


def test_another_hub_error_from_a_connector_is_still_a_permanent_refusal():
    outcome, _ = attempt(Waiting(HubError(errors.DVCQG_TRANSITION, "10 -> 4")))
    assert outcome.state == "dead" and outcome.code == errors.DVCQG_TRANSITION
