"""The catalogue's two validators (hub/schemas.py) give one verdict.

jsonschema-rs says "valid" on the hot path and is then trusted alone; jsonschema (Python) explains a refusal. So
the two must agree on every instance: if the fast one accepted what the Python one refuses, a bad payload would
enter the hub. Checked here on every message type and the envelope, over the fixtures and hypothesis's mutations
of them (a field replaced, removed or added, values chosen where the two libraries could differ: booleans among
numbers, 1.0 as an integer, integers past 64 bits, control characters, trailing newlines, near-miss formats).
"""
from __future__ import annotations

import copy
import json
import pathlib
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub import schemas
from hub.formats import FORMAT_CHECKER
from hub.schemas import SchemaCatalog, default_catalog

ROOT = pathlib.Path(__file__).parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "messages"
CATALOG = default_catalog()
TYPES = CATALOG.types()
SETTINGS = settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))

#: strings where a format or pattern check could go one way in one library and the other way in the other
NEAR_MISSES = [
    "", " ", "\n", "a\n", "x@", "@", "a@b.c", "000.00.14.H20", "000.00.14.H00", "000.00.14.H20\n", "000.00.14.h20",
    "000.00.14.H20-231120-0001", "000.00.14.H20-230230-0001", "000.00.14.H20-231120-0001\n", "1.000894",
    "1.000894.000.00.00.H20", "1.000894.000.00.00.H00", "2023-11-20", "2023-02-30", "2023-11-20\n",
    "2023-11-20T08:00:00+07:00", "2023-11-20T08:00:00", "2023-11-20t08:00:00z", "2023-11-20T08:00:00Z",
    "0912345678", "84912345678", "+84912345678", "02838123456", "001203012345", "012345678", "٠١٢٣٤٥٦٧٨٩",
    "https://example.invalid/a?b=c", "http://", "ftp://x", "ipv4 127.0.0.1", "127.0.0.1", "::1", "256.1.1.1",
    "new", "revoke", "NEW", "application/pdf", "application/pdf\n", "../etc/passwd", "a/b", "c:\\x",
    "aGVsbG8=", "aGVsbG8", "aGVsbG8===", "0" * 64, "0" * 63, "A" * 300, "Hồ sơ đất đai", "\x00", "\x7f", "\u2028",
    "00000", "000", "00", "ab", "demo.ping", "Demo.Ping", "123e4567-e89b-12d3-a456-426614174000",
    "123E4567E89B12D3A456426614174000", "123e4567-e89b-12d3-a456-42661417400", "[a-", "^a$",
]
VALUES = st.recursive(
    st.none() | st.booleans() | st.sampled_from([0, 1, -1, 1.0, 0.5, 2 ** 63, 2 ** 70, -(2 ** 70), 10 ** 20, 1e300])
    | st.integers(-10 ** 6, 10 ** 6) | st.sampled_from(NEAR_MISSES) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["x", "id", "code", "text"]), inner,
                                                                max_size=3),
    max_leaves=6)


def fixture(type_: str) -> dict[str, Any]:
    path = FIXTURES / f"{type_}.json"    # a type without a fixture (demo.echo) starts from its one field
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {"text": "xin chào"}


def places(node: Any, path: tuple = ()) -> list[tuple]:
    """Every path to a value inside ``node`` (dict keys and list indexes)."""
    found = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            found += places(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += places(value, (*path, index))
    return found


def mutated(original: Any, data: st.DataObject) -> Any:
    doc = copy.deepcopy(original)
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(places(doc)))
        if not path:
            doc = data.draw(VALUES) if data.draw(st.integers(0, 9)) == 0 else doc
            continue
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        action = data.draw(st.sampled_from(["replace", "replace", "remove", "add"]))
        if action == "replace":
            parent[path[-1]] = data.draw(VALUES)
        elif action == "remove":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[data.draw(st.sampled_from(["unknown", "x-extra", "Text", "1"]))] = data.draw(VALUES)
        else:
            parent.append(data.draw(VALUES))
    return doc


def same_verdict(checked: Any, instance: Any) -> None:
    python_says = not any(True for _ in checked.explainer.iter_errors(instance))
    assert checked.is_valid(instance) == python_says, json.dumps(instance, ensure_ascii=False, default=str)[:500]


@pytest.mark.parametrize("type_", TYPES)
@SETTINGS
@given(data=st.data())
def test_both_validators_agree_on_mutated_payloads(type_: str, data: st.DataObject) -> None:
    same_verdict(CATALOG._entry(type_).validator, mutated(fixture(type_), data))


@SETTINGS
@given(data=st.data(), type_=st.sampled_from(TYPES))
def test_both_validators_agree_on_mutated_envelopes(data: st.DataObject, type_: str) -> None:
    envelope = {"id": "m-1", "type": type_, "subject": "000.00.14.H20-231120-0001", "correlation_id": "c-1",
                "headers": {"X-Trace": "a"}, "payload": fixture(type_)}
    same_verdict(CATALOG._envelope, mutated(envelope, data))


@pytest.mark.parametrize("name", sorted(FORMAT_CHECKER.checkers))
def test_formats_are_the_hubs_own_in_both(name: str) -> None:
    """jsonschema-rs has built-in checks for email, date, uri...: ours replace them, so a string is judged by
    hub/formats.py whichever validator looks at it."""
    checked = schemas._Checked({"$schema": schemas.DRAFT, "type": "string", "format": name})
    differ = [v for v in NEAR_MISSES if checked.is_valid(v) != FORMAT_CHECKER.conforms(v, name)]
    assert differ == []
    assert any(FORMAT_CHECKER.conforms(v, name) for v in NEAR_MISSES)      # both answers are exercised
    assert not all(FORMAT_CHECKER.conforms(v, name) for v in NEAR_MISSES)


def test_the_builtin_email_check_would_have_differed() -> None:
    """Why formats are handed over: jsonschema-rs alone refuses "x@", which the hub has always accepted as an email
    (jsonschema's check, hub/formats.py): without ours the hub would change what it accepts."""
    import jsonschema_rs
    schema = {"$schema": schemas.DRAFT, "type": "string", "format": "email"}
    assert jsonschema_rs.validator_for(schema, validate_formats=True).is_valid("x@") is False
    assert schemas._Checked(schema).is_valid("x@") is True


def test_a_refused_payload_is_still_explained_in_the_hubs_words() -> None:
    payload = fixture("document.send")
    payload["from"]["id"] = "000.00.14.H00"
    del payload["subject"]
    problems = CATALOG.validate_payload("document.send", payload)
    assert {p.path for p in problems} >= {"/payload/subject", "/payload/from/id"}
    assert all("000.00.14.H00" not in p.message for p in problems)


def test_a_valid_payload_never_reaches_the_python_validator(monkeypatch: pytest.MonkeyPatch) -> None:
    """The point of the fast path: jsonschema's walk (0.5 ms for a document) runs for refusals only."""
    catalog = SchemaCatalog(ROOT / "schemas")
    checked = catalog._entry("document.send").validator

    class Watched:
        schema = checked.explainer.schema

        @staticmethod
        def iter_errors(_instance: Any) -> Any:
            raise AssertionError("jsonschema walked the payload")
    monkeypatch.setattr(checked, "explainer", Watched())
    assert catalog.validate_payload("document.send", fixture("document.send")) == []
    with pytest.raises(AssertionError, match="walked"):
        catalog.validate_payload("document.send", {"from": 1})


def test_a_value_the_fast_validator_cannot_hold_goes_to_the_python_one() -> None:
    class Odd:        # not JSON at all: jsonschema-rs raises, the Python validator decides (and refuses)
        pass
    checked = CATALOG._entry("demo.ping").validator
    assert checked.is_valid({"text": Odd()}) is False
    assert CATALOG.validate_payload("demo.ping", {"text": Odd()})  # type: ignore[dict-item]
