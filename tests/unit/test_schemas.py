"""The schema catalogue (hub/schemas.py) and the canonical schemas in schemas/."""
from __future__ import annotations

import copy
import json
import pathlib
import shutil
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from hub.formats import FORMAT_CHECKER
from hub.schemas import MAX_PROBLEMS, SchemaCatalog, SchemaProblem, default_catalog

ROOT = pathlib.Path(__file__).parents[2]
SCHEMAS = ROOT / "schemas"
FIXTURES = ROOT / "tests" / "fixtures" / "messages"
CALLS = ["citizen.verify", "citizen.lookup", "procedure.lookup", "payment.create"]
ONE_WAY = ["dossier.sync", "dossier.progress", "dossier.evaluation", "dossier.submitted", "procedure.sync",
           "payment.completed", "postal.pickup", "postal.deliver", "postal.status", "sms.send", "sms.received",
           "document.send", "document.received", "document.status", "demo.ping"]
TYPES = CALLS + ONE_WAY
SCHEMA_FILES = [SCHEMAS / "envelope.json", *(SCHEMAS / "messages" / f"{t}.json" for t in TYPES)]


@pytest.fixture(scope="module")
def catalog() -> SchemaCatalog:
    return default_catalog()


def fixture(type_: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{type_}.json").read_text(encoding="utf-8"))


def subschemas(schema: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, subschema) for every subschema, walking keywords, not data."""
    def walk(node: Any, where: str) -> Iterator[tuple[str, dict[str, Any]]]:
        if not isinstance(node, dict):
            return
        yield where, node
        for key in ("properties", "$defs", "patternProperties"):
            for name, sub in (node.get(key) or {}).items():
                yield from walk(sub, f"{where}/{key}/{name}")
        for key in ("items", "additionalProperties", "propertyNames", "if", "then", "else", "not", "x-reply"):
            yield from walk(node.get(key), f"{where}/{key}")
        for key in ("allOf", "anyOf", "oneOf", "prefixItems"):
            for i, sub in enumerate(node.get(key) or ()):
                yield from walk(sub, f"{where}/{key}/{i}")
    return walk(schema, "")


# --- the schema files ----------------------------------------------------------------------------
@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.name)
def test_schema_file_is_valid_draft_2020_12(path: pathlib.Path) -> None:
    schema = json.loads(path.read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)
    assert schema["title"].strip() and schema["description"].strip()
    assert schema["type"] == "object" and schema["additionalProperties"] is False
    if "x-reply" in schema:
        Draft202012Validator.check_schema(schema["x-reply"])


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.name)
def test_schema_bounds_every_string_array_and_object(path: pathlib.Path) -> None:
    schema = json.loads(path.read_text(encoding="utf-8"))
    for where, sub in subschemas(schema):
        kind = sub.get("type")
        if kind == "string":
            assert "maxLength" in sub, f"{path.name}{where}: unbounded string"
        if kind == "array":
            assert "maxItems" in sub, f"{path.name}{where}: unbounded array"
        if kind == "object" and where != "/properties/payload":      # the payload has its own schema
            assert sub.get("additionalProperties") is False or "maxProperties" in sub, f"{path.name}{where}"
        if "pattern" in sub:
            # "$" alone also matches before a final "\n": the idiom "$(?!\n)" closes that door.
            assert sub["pattern"].startswith("^") and sub["pattern"].endswith("$(?!\\n)"), f"{path.name}{where}"
        if "format" in sub:
            assert sub["format"] in FORMAT_CHECKER.checkers, f"{path.name}{where}: unknown format"


@pytest.mark.parametrize("type_", TYPES)
def test_description_names_the_partner_and_call_flag_is_right(type_: str, catalog: SchemaCatalog) -> None:
    schema = catalog.schema(type_)
    assert len(schema["description"]) > 40
    assert catalog.is_call(type_) is (type_ in CALLS)
    assert ("x-reply" in schema) is (type_ in CALLS)


def test_catalogue_knows_every_required_type(catalog: SchemaCatalog) -> None:
    assert set(TYPES) <= set(catalog.types())
    assert catalog.types() == sorted(catalog.types())
    assert catalog.has_type("dossier.sync") and not catalog.has_type("dossier.unknown")


def test_subject_pointers(catalog: SchemaCatalog) -> None:
    assert catalog.subject_of("dossier.sync", fixture("dossier.sync")) == "000.00.14.H20-231120-0001"
    assert catalog.subject_of("procedure.sync", fixture("procedure.sync")) == "1.000894"
    assert catalog.subject_of("demo.ping", fixture("demo.ping")) is None
    assert "x-subject" not in catalog.schema("demo.ping")
    assert catalog.subject_of("citizen.verify", {"personal_id": "048192003456"}) is None   # never the id
    assert catalog.subject_of("dossier.sync", {"dossier_code": "bad\r\nX-Injected: 1"}) is None
    assert catalog.subject_of("dossier.sync", {"dossier_code": 42}) is None


def test_unknown_type_is_a_key_error(catalog: SchemaCatalog) -> None:
    for call in (lambda: catalog.validate_payload("no.such", {}), lambda: catalog.is_call("no.such"),
                 lambda: catalog.schema("no.such"), lambda: catalog.subject_of("no.such", {})):
        with pytest.raises(KeyError):
            call()


def test_schema_returns_a_copy(catalog: SchemaCatalog) -> None:
    catalog.schema("demo.ping")["properties"].clear()
    assert catalog.validate_payload("demo.ping", {"text": "x", "extra": 1})


def test_default_catalogue_is_cached() -> None:
    assert default_catalog() is default_catalog()


# --- fixtures --------------------------------------------------------------------------------------
@pytest.mark.parametrize("type_", TYPES)
def test_fixture_is_valid(type_: str, catalog: SchemaCatalog) -> None:
    assert catalog.validate_payload(type_, fixture(type_)) == []
    assert catalog.validate_envelope({"id": f"fixture-{type_}", "type": type_, "payload": fixture(type_)}) == []


# --- invalid payloads: caught at the right path, value never echoed --------------------------------
Mutation = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Mutation:
    def apply(payload: dict[str, Any]) -> None:
        *parents, last = path.split("/")
        node: Any = payload
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
    return apply


def _drop(key: str) -> Mutation:
    return lambda payload: payload.pop(key)


INVALID: list[tuple[str, Mutation, str, Any]] = [
    # type, mutation, expected path, the offending value (must not appear in any message)
    ("dossier.sync", _set("status", 11), "/payload/status", None),
    ("dossier.sync", _set("received_at", "20231120081500"), "/payload/received_at", "20231120081500"),
    ("dossier.sync", _set("applicant_id", "000192003456"), "/payload/applicant_id", "000192003456"),
    ("dossier.sync", _set("attachments/1/url", "not a url"), "/payload/attachments/1/url", "not a url"),
    ("dossier.sync", _set("dossier_code", "000.00.14.H20-230230-0001"), "/payload/dossier_code",
     "000.00.14.H20-230230-0001"),
    ("dossier.submitted", _set("applicant_id", "04819200345"), "/payload/applicant_id", "04819200345"),
    ("dossier.progress", _set("handled_at", "2023-11-20T10:42:00"), "/payload/handled_at", "2023-11-20T10:42:00"),
    ("dossier.evaluation", _set("satisfaction", "ok-ish"), "/payload/satisfaction", "ok-ish"),
    ("procedure.sync", _set("procedure_code", "7.12345"), "/payload/procedure_code", "7.12345"),
    ("procedure.lookup", _drop("procedure_code"), "/payload/procedure_code", None),
    ("citizen.verify", _set("personal_id", "000192003456"), "/payload/personal_id", "000192003456"),
    ("citizen.verify", _set("birth_date", "1992-02-30"), "/payload/birth_date", "1992-02-30"),
    ("citizen.lookup", _set("cmnd", "123456789"), "/payload", "123456789"),     # both ids given
    ("payment.create", _set("reference", "H2023112000010100001X"), "/payload/reference", "H2023112000010100001X"),
    ("payment.create", _set("payer_ip", "999.1.1.1"), "/payload/payer_ip", "999.1.1.1"),
    ("payment.completed", _set("amount", -15000), "/payload/amount", None),
    ("postal.pickup", _set("sender/phone", "0112345678"), "/payload/sender/phone", "0112345678"),
    ("postal.deliver", _set("receiver/province_code", "087"), "/payload/receiver/province_code", "087"),
    ("postal.status", _set("history/1/status_code", 23), "/payload/history/1/status_code", None),
    ("sms.send", _set("phone", "02438253536"), "/payload/phone", "02438253536"),
    ("sms.received", _set("service_number", "81 88"), "/payload/service_number", "81 88"),
    ("document.send", _set("to", []), "/payload/to", None),
    ("document.send", _set("from/organ_id", "000.00.00.X20"), "/payload/from/organ_id", "000.00.00.X20"),
    ("document.received", _set("attachments/0/url", "https://qlvb.dongthap.gov.vn/f/1"),
     "/payload/attachments/0", "https://qlvb.dongthap.gov.vn/f/1"),
    ("document.status", _set("status_code", "07"), "/payload/status_code", None),
    ("demo.ping", _set("text", "x" * 1001), "/payload/text", "x" * 1001),
    ("demo.ping", _set("seq", -1), "/payload/seq", None),
    ("demo.ping", _set("colour", "blue"), "/payload/colour", "blue"),
]


@pytest.mark.parametrize("type_,mutate,path,value", INVALID, ids=[f"{c[0]}:{c[2]}" for c in INVALID])
def test_invalid_payload_is_caught_at_its_path(type_: str, mutate: Mutation, path: str, value: Any,
                                               catalog: SchemaCatalog) -> None:
    payload = copy.deepcopy(fixture(type_))
    mutate(payload)
    problems = catalog.validate_payload(type_, payload)
    assert path in [p.path for p in problems], problems
    for problem in problems:
        assert isinstance(problem, SchemaProblem)
        assert problem.message[0].isupper() and problem.message.endswith(".")
        if value is not None:
            assert str(value) not in problem.message and str(value) not in problem.path


def test_every_type_has_an_invalid_case() -> None:
    assert {c[0] for c in INVALID} == set(TYPES)


def test_messages_say_the_expected_form(catalog: SchemaCatalog) -> None:
    payload = fixture("dossier.sync")
    payload.pop("procedure_code")
    payload["dossier_code"] = "000.00.14.H20-230230-0001"
    problems = {p.path: p.message for p in catalog.validate_payload("dossier.sync", payload)}
    assert "dossier code" in problems["/payload/dossier_code"] and "YYMMDD" in problems["/payload/dossier_code"]
    assert problems["/payload/procedure_code"].startswith("Is required")
    assert "procedure code" in problems["/payload/procedure_code"]


def test_personal_data_is_never_echoed(catalog: SchemaCatalog) -> None:
    secret_id = "048192003456"
    payload = fixture("citizen.verify")
    payload.update(personal_id=secret_id + "9", cmnd=secret_id[:9], full_name=secret_id * 20,
                   birth_date=secret_id, officer_id=["not", "a", "string", secret_id])
    payload[secret_id] = secret_id                          # a client-chosen field name is data too
    problems = catalog.validate_payload("citizen.verify", payload)
    assert len(problems) >= 5
    for problem in problems:
        assert secret_id not in problem.message and secret_id not in problem.path
        assert secret_id[:9] not in problem.message


def test_format_checker_is_on(catalog: SchemaCatalog) -> None:
    payload = fixture("dossier.progress")
    payload["handled_at"] = "2023-11-20 10:42"
    problems = catalog.validate_payload("dossier.progress", payload)
    assert [p.path for p in problems] == ["/payload/handled_at"]
    assert "RFC 3339" in problems[0].message


def test_problem_count_is_bounded(catalog: SchemaCatalog) -> None:
    payload = fixture("dossier.sync")
    payload["attachments"] = [{"file_id": 1, "file_name": 2, "url": "x y"}] * 150
    problems = catalog.validate_payload("dossier.sync", payload)
    assert len(problems) == MAX_PROBLEMS + 1
    assert problems[-1].message.startswith("More problems")


def test_payload_must_be_an_object(catalog: SchemaCatalog) -> None:
    assert catalog.validate_payload("demo.ping", ["text"]) == [  # type: ignore[arg-type]
        SchemaProblem("/payload", "Has the wrong type; expected an object.")]


# --- envelope -------------------------------------------------------------------------------------
GOOD_ENVELOPE = {"id": "onestop-dt:2023.11.20-0001", "type": "dossier.sync", "subject": "000.00.14.H20-231120-0001",
                 "correlation_id": "a3f1c2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d", "payload": {},
                 "headers": {"x-trace": "abc 123", "priority": "high"}}


def test_good_envelopes(catalog: SchemaCatalog) -> None:
    assert catalog.validate_envelope(GOOD_ENVELOPE) == []
    assert catalog.validate_envelope({"type": "demo.ping", "payload": {"text": "hi"}}) == []


@pytest.mark.parametrize("change,path", [
    ({"id": "abc\r\n"}, "/id"), ({"id": "abc\n"}, "/id"), ({"id": "abc\r\nSet-Cookie: x=1"}, "/id"),
    ({"id": ""}, "/id"), ({"id": "a" * 129}, "/id"), ({"id": "-leading-dash"}, "/id"), ({"id": "có dấu"}, "/id"),
    ({"id": 42}, "/id"), ({"correlation_id": "x\r\ny"}, "/correlation_id"), ({"subject": "a b"}, "/subject"),
    ({"subject": "000.00.14.H20-231120-0001\n"}, "/subject"),
    ({"type": "Dossier.Sync"}, "/type"), ({"type": "dossier"}, "/type"), ({"type": "dossier.sync\n"}, "/type"),
    ({"payload": "text"}, "/payload"), ({"payload": None}, "/payload"),
    ({"source": "forged"}, "/source"), ({"created_at": "2023-11-20T08:15:00+07:00"}, "/created_at"),
    ({"headers": {"x-trace": "a\r\nb"}}, "/headers/x-trace"), ({"headers": {"x-trace": "a\n"}}, "/headers/x-trace"),
    ({"headers": {"x-trace": 1}}, "/headers/x-trace"), ({"headers": {"x-trace": "v" * 513}}, "/headers/x-trace"),
    ({"headers": {f"h{i}": "v" for i in range(33)}}, "/headers"), ({"headers": ["a"]}, "/headers"),
])
def test_bad_envelopes(change: dict[str, Any], path: str, catalog: SchemaCatalog) -> None:
    envelope = {**GOOD_ENVELOPE, **change}
    problems = catalog.validate_envelope(envelope)
    assert path in [p.path for p in problems], problems
    value = next(iter(change.values()))
    for problem in problems:
        if isinstance(value, str) and len(value) > 2:
            assert value not in problem.message and value not in problem.path


def test_envelope_missing_fields_and_bad_header_names(catalog: SchemaCatalog) -> None:
    problems = catalog.validate_envelope({"id": "x1"})
    assert {p.path for p in problems} == {"/type", "/payload"}
    assert all(p.message.startswith("Is required") for p in problems)
    problems = catalog.validate_envelope({**GOOD_ENVELOPE, "headers": {"X-Bad\r\nInjected": "v"}})
    assert [p.path for p in problems] == ["/headers"]
    assert "name" in problems[0].message and "Injected" not in problems[0].message
    assert catalog.validate_envelope("not an object") == [  # type: ignore[arg-type]
        SchemaProblem("", "Has the wrong type; expected an object.")]


# --- loading a catalogue ----------------------------------------------------------------------
def _copy_catalogue(tmp_path: pathlib.Path) -> pathlib.Path:
    shutil.copytree(SCHEMAS, tmp_path / "schemas", ignore=shutil.ignore_patterns("config"))
    return tmp_path / "schemas"


@pytest.mark.parametrize("name,content,complaint", [
    ("broken.type.json", "{not json", "cannot read it as JSON"),
    ("bad.schema.json", {"type": 5}, "not a valid JSON Schema"),
    ("bad.format.json", {"type": "object", "properties": {"a": {"type": "string", "format": "dossier_code"}}},
     "unknown format"),
    ("bad.subject.json", {"type": "object", "properties": {}, "x-subject": "/dossier_code"}, "x-subject"),
    ("bad.call.json", {"type": "object", "x-call": "yes"}, "x-call"),
    ("bad.reply.json", {"type": "object", "x-call": True, "x-reply": {"type": "nope"}}, "x-reply"),
    ("notitle.type.json", {"type": "object", "title": ""}, "title"),
    ("Bad_Name.json", {"type": "object"}, "file name"),
])
def test_bad_schema_file_is_named(name: str, content: Any, complaint: str, tmp_path: pathlib.Path) -> None:
    directory = _copy_catalogue(tmp_path)
    if isinstance(content, dict):
        content = json.dumps({"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "T",
                              "description": "D", **content})
    (directory / "messages" / name).write_text(content, encoding="utf-8")
    with pytest.raises(ValueError) as excinfo:
        SchemaCatalog(directory)
    assert name in str(excinfo.value) and complaint in str(excinfo.value)


def test_missing_draft_declaration_is_refused(tmp_path: pathlib.Path) -> None:
    directory = _copy_catalogue(tmp_path)
    (directory / "envelope.json").write_text(json.dumps({"type": "object"}), encoding="utf-8")
    with pytest.raises(ValueError, match="envelope.json"):
        SchemaCatalog(directory)


def test_catalogue_from_a_copied_directory_works(tmp_path: pathlib.Path) -> None:
    catalog = SchemaCatalog(_copy_catalogue(tmp_path))
    assert catalog.validate_payload("demo.ping", {"text": "xin chào"}) == []

