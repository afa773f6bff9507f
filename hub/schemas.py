"""The catalogue of canonical message schemas: ``schemas/envelope.json`` and ``schemas/messages/<type>.json``.

Loaded once, every schema checked at load (a broken file stops the hub at start, naming the file, never
at the first message), every validator built once with the hub's ``FORMAT_CHECKER`` on: validation is on
the hot path of every message (DESIGN.md, performance budget).

Custom keywords the catalogue reads from a message schema (JSON Schema ignores ``x-`` keywords):
``x-call`` (true for request/reply types), ``x-subject`` (JSON pointer to the payload field that is the
business key), ``x-reply`` (schema of the canonical answer of a call; checked here, documentation for
connectors).

Two validators per schema, one verdict. jsonschema-rs (compiled, 20-40x faster on the hub's larger payloads:
``python -m bench.validate``) answers "valid?" for every message; only a payload it refuses is
walked again by jsonschema (Python), whose errors :func:`_explain` turns into problems. Both get the same schema
(draft 2020-12) and the same format checks (hub/formats.py, handed to jsonschema-rs as callbacks), and
tests/unit/test_schemas_fast.py holds them to the same verdicts, so the client sees exactly what it saw before.

Problems are reported as :class:`SchemaProblem` with our own wording: jsonschema's messages quote the
offending value, and that value may be a citizen's personal id, so they are never passed on.
"""
from __future__ import annotations

import copy
import functools
import json
import pathlib
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import jsonschema_rs
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, ValidationError, best_match

from hub.formats import FORMAT_CHECKER, FORMAT_DESCRIPTIONS

DRAFT = "https://json-schema.org/draft/2020-12/schema"
#: A flood of errors (10,000 bad items) must not become a 10,000-line answer or burn the CPU finding them.
MAX_PROBLEMS = 20

_TYPE_RE = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)+")
_SUBJECT_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")       # as envelope.json's subject
#: Client-chosen field names shown in a problem's path only when they look like field names: a key
#: made of digits could be an id number, and one with control characters would land in the logs.
_SHOWN_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,63}")
_NEWLINE_GUARD = "$(?!\\n)"     # how the schemas end patterns: "$" alone also matches before a final newline


@dataclass(frozen=True)
class SchemaProblem:
    path: str       # JSON pointer, e.g. "/payload/dossier_code"
    message: str    # what is wrong and the expected form; never the offending value


class _Checked:
    """One schema's two validators: ``fast`` says whether an instance is valid, ``explainer`` says why not."""

    __slots__ = ("fast", "explainer")

    def __init__(self, schema: dict[str, Any]) -> None:
        self.explainer = Draft202012Validator(schema, format_checker=FORMAT_CHECKER)
        # offline: a $ref to another address is never fetched (the catalogue's refs are local, #/$defs/...)
        self.fast = jsonschema_rs.validator_for(schema, formats=_FAST_FORMATS, validate_formats=True, offline=True)

    @property
    def schema(self) -> dict[str, Any]:
        return self.explainer.schema

    def is_valid(self, instance: Any) -> bool:
        try:
            return bool(self.fast.is_valid(instance))
        except (ValueError, TypeError, OverflowError):  # a value it cannot hold (an integer past 64 bits...):
            return False                                 # the Python validator decides


def _fast_format(name: str) -> Callable[[str], bool]:
    return lambda value: FORMAT_CHECKER.conforms(value, name)


#: every format a schema may name (hub/formats.py): ours replace jsonschema-rs's built-in checks of the same name
_FAST_FORMATS = {name: _fast_format(name) for name in FORMAT_CHECKER.checkers}


@dataclass(frozen=True)
class _Entry:
    schema: dict[str, Any]
    validator: _Checked
    call: bool
    subject: tuple[str, ...] | None


class SchemaCatalog:
    """Every canonical message type the hub knows, with its validator."""

    def __init__(self, directory: pathlib.Path) -> None:
        directory = pathlib.Path(directory)
        self._envelope = _validator(_load(directory / "envelope.json"))
        self._entries: dict[str, _Entry] = {}
        for path in sorted((directory / "messages").glob("*.json")):
            type_ = path.name[: -len(".json")]
            if not _TYPE_RE.fullmatch(type_):
                raise ValueError(f"{path}: file name must be <type>.json with a dotted lower-case type, "
                                 "e.g. dossier.sync.json")
            self._entries[type_] = _message_entry(path, _load(path))
        if not self._entries:
            raise ValueError(f"{directory / 'messages'}: no message schemas found")

    def types(self) -> list[str]:
        return sorted(self._entries)

    def has_type(self, type_: str) -> bool:
        return type_ in self._entries

    def is_call(self, type_: str) -> bool:
        return self._entry(type_).call

    def subject_of(self, type_: str, payload: dict[str, Any]) -> str | None:
        """The payload's business key (``x-subject``), or None when absent or not a safe subject."""
        pointer = self._entry(type_).subject
        if pointer is None:
            return None
        value: Any = payload
        for key in pointer:
            if not isinstance(value, dict):
                return None
            value = value.get(key)
        # The subject goes into headers and logs: only values the envelope's subject pattern allows.
        return value if isinstance(value, str) and _SUBJECT_RE.fullmatch(value) else None

    def schema(self, type_: str) -> dict[str, Any]:
        return copy.deepcopy(self._entry(type_).schema)

    def envelope_schema(self) -> dict[str, Any]:
        return self._envelope.schema

    def validate_envelope(self, envelope: dict[str, Any]) -> list[SchemaProblem]:
        """Problems of the envelope itself (the payload is only checked to be an object)."""
        return _problems(self._envelope, envelope, "")

    def validate_payload(self, type_: str, payload: dict[str, Any]) -> list[SchemaProblem]:
        """Problems of a payload against its type's schema, paths under ``/payload``. KeyError for an unknown type."""
        return _problems(self._entry(type_).validator, payload, "/payload")

    def _entry(self, type_: str) -> _Entry:
        try:
            return self._entries[type_]
        except KeyError:
            raise KeyError(f"unknown message type {type_!r}") from None


@functools.cache
def default_catalog() -> SchemaCatalog:
    return SchemaCatalog(pathlib.Path(__file__).parents[1] / "schemas")


# --- loading ---------------------------------------------------------------------------------
def _load(path: pathlib.Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: cannot read it as JSON: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("$schema") != DRAFT:
        raise ValueError(f"{path}: must be a JSON object with \"$schema\": \"{DRAFT}\"")
    _check(path, doc)
    unknown = sorted({s["format"] for s in _subschemas(doc) if isinstance(s.get("format"), str)}
                     - FORMAT_CHECKER.checkers.keys())
    if unknown:
        # An unknown format is silently accepted by JSON Schema: a typo would switch a check off.
        raise ValueError(f"{path}: unknown format(s) {', '.join(unknown)}; "
                         f"known: {', '.join(sorted(FORMAT_CHECKER.checkers))}")
    return doc


def _check(path: pathlib.Path, schema: Any, where: str = "") -> None:
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        at = where + _pointer_of(exc.absolute_path)
        raise ValueError(f"{path}: not a valid JSON Schema at {at or '/'}: {exc.message}") from exc


def _message_entry(path: pathlib.Path, schema: dict[str, Any]) -> _Entry:
    for key in ("title", "description"):
        if not isinstance(schema.get(key), str) or not schema[key].strip():
            raise ValueError(f"{path}: \"{key}\" must be a non-empty string")
    if schema.get("type") != "object":
        raise ValueError(f"{path}: a payload schema must have \"type\": \"object\"")
    call = schema.get("x-call", False)
    if not isinstance(call, bool):
        raise ValueError(f"{path}: \"x-call\" must be true or false")
    if "x-reply" in schema:
        _check(path, schema["x-reply"], "/x-reply")
    subject = None
    if "x-subject" in schema:
        subject = _subject_pointer(schema, schema["x-subject"])
        if subject is None:
            raise ValueError(f"{path}: \"x-subject\" must be a JSON pointer to a property of the schema, "
                             "e.g. /dossier_code")
    return _Entry(schema, _validator(schema), call, subject)


def _subject_pointer(schema: dict[str, Any], pointer: Any) -> tuple[str, ...] | None:
    """The pointer's keys, if each names a declared property (following local $refs)."""
    if not isinstance(pointer, str) or not pointer.startswith("/"):
        return None
    keys = tuple(k.replace("~1", "/").replace("~0", "~") for k in pointer[1:].split("/"))
    node: Any = schema
    for key in keys:
        node = _deref(schema, node).get("properties", {}).get(key) if isinstance(node, dict) else None
        if node is None:
            return None
    return keys


def _validator(schema: dict[str, Any]) -> _Checked:
    return _Checked(schema)


_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "dependentSchemas")
_SCHEMA_ONE = ("items", "additionalProperties", "not", "if", "then", "else", "contains", "propertyNames",
               "unevaluatedProperties", "unevaluatedItems", "x-reply")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")


def _subschemas(schema: Any) -> Iterator[dict[str, Any]]:
    """Every subschema, walking keywords (never data: a property named "format" is not a keyword)."""
    if not isinstance(schema, dict):
        return
    yield schema
    for key in _SCHEMA_MAPS:
        for sub in (schema.get(key) or {}).values():
            yield from _subschemas(sub)
    for key in _SCHEMA_ONE:
        yield from _subschemas(schema.get(key))
    for key in _SCHEMA_LISTS:
        for sub in schema.get(key) or ():
            yield from _subschemas(sub)


def _deref(root: dict[str, Any], node: Any) -> Any:
    ref = node.get("$ref") if isinstance(node, dict) else None
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return root.get("$defs", {}).get(ref[len("#/$defs/"):], node)
    return node


# --- explaining problems -----------------------------------------------------------------------
def _problems(checked: _Checked, instance: Any, prefix: str) -> list[SchemaProblem]:
    if checked.is_valid(instance):
        return []
    found: dict[SchemaProblem, None] = {}          # ordered set: one error may yield known problems again
    root = checked.schema
    for error in checked.explainer.iter_errors(instance):
        for problem in _explain(error, prefix, root):
            found[problem] = None
        if len(found) > MAX_PROBLEMS:
            return [*list(found)[:MAX_PROBLEMS],
                    SchemaProblem(prefix, "More problems were found; fix these and send again.")]
    return list(found)


def _pointer_of(path: Iterable[Any]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def _location(prefix: str, path: Iterable[Any]) -> str:
    """JSON pointer of an error, cut before the first client-chosen name we must not show."""
    shown = []
    for part in path:
        if isinstance(part, str) and not _SHOWN_NAME_RE.fullmatch(part):
            break
        shown.append(part)
    return prefix + _pointer_of(shown)


def _explain(error: ValidationError, prefix: str, root: dict[str, Any]) -> list[SchemaProblem]:
    at = _location(prefix, error.absolute_path)
    keyword, value, schema, instance = error.validator, error.validator_value, error.schema, error.instance
    if keyword == "required" and isinstance(instance, dict):
        props = schema.get("properties", {}) if isinstance(schema, dict) else {}
        return [SchemaProblem(f"{at}/{name}", f"Is required; expected {_expected(props.get(name), root)}.")
                for name in value if name not in instance]
    if keyword == "additionalProperties" and value is False and isinstance(instance, dict):
        known = sorted(schema.get("properties", {}))
        patterns = list(schema.get("patternProperties", {}))
        extras = sorted(n for n in instance if n not in known and not any(re.search(p, n) for p in patterns))
        hint = f"known fields: {', '.join(known)}." if known else "this object takes no fields."
        return [SchemaProblem(f"{at}/{name}", f"Is not a known field here; {hint}")
                if _SHOWN_NAME_RE.fullmatch(name) else
                SchemaProblem(at, f"Has a field whose name is not allowed here; {hint}")
                for name in extras]
    if keyword in ("oneOf", "anyOf"):
        return _explain_choice(error, at, prefix, root)
    if "propertyNames" in error.relative_schema_path:
        return [SchemaProblem(at, f"Has a field name that is not allowed; names must be {_expected(schema, root)}.")]
    return [SchemaProblem(at, _message(keyword, value, schema, root))]


def _explain_choice(error: ValidationError, at: str, prefix: str, root: dict[str, Any]) -> list[SchemaProblem]:
    branches = error.validator_value
    if all(isinstance(b, dict) and set(b) == {"required"} for b in branches):
        names = ", ".join(n for b in branches for n in b["required"])
        how = "exactly one" if error.validator == "oneOf" else "at least one"
        return [SchemaProblem(at, f"Must give {how} of these fields: {names}.")]
    if not error.context:
        return [SchemaProblem(at, "Matches more than one of the accepted forms; it must match exactly one.")]
    return _explain(best_match(error.context), prefix, root)


#: Messages of the keywords whose only parameter is a number from the schema (never the value).
_BOUND_MESSAGES = {
    "maxLength": "Is too long; at most {} characters are allowed.",
    "minLength": "Is too short; at least {} characters are needed.",
    "minimum": "Must be at least {}.", "maximum": "Must be at most {}.",
    "exclusiveMinimum": "Must be greater than {}.", "exclusiveMaximum": "Must be less than {}.",
    "multipleOf": "Must be a multiple of {}.",
    "maxItems": "Has too many items; at most {} are allowed.", "minItems": "Must have at least {} item(s).",
    "maxProperties": "Has too many fields; at most {} are allowed.",
    "minProperties": "Must have at least {} field(s).",
}


def _message(keyword: str | None, value: Any, schema: Any, root: dict[str, Any]) -> str:
    if keyword == "type":
        return f"Has the wrong type; expected {_expected(schema, root)}."
    if keyword == "format":
        return f"Must be {FORMAT_DESCRIPTIONS.get(value, f'in the {value} format')}."
    if keyword == "pattern":
        return f"Does not have the expected form; expected {_expected(schema, root)}."
    if keyword in ("enum", "const"):
        return f"Must be {_expected(schema, root)}."
    if keyword == "minLength" and value == 1:
        return "Must not be empty."
    if keyword in _BOUND_MESSAGES:
        return _BOUND_MESSAGES[keyword].format(value)
    if keyword == "uniqueItems":
        return "Must not repeat an item."
    if keyword == "dependentRequired":
        return f"Misses fields that go together: {json.dumps(value)}."
    if keyword in ("contains", "minContains", "maxContains"):
        return "Does not contain the expected items."
    if keyword is None or keyword == "not":
        return "Is not allowed here."
    return f"Does not match the schema (rule '{keyword}')."


def _expected(schema: Any, root: dict[str, Any]) -> str:
    """The expected form, in words, from the schema alone (never from the value)."""
    schema = _deref(root, schema)
    if not isinstance(schema, dict):
        return "a value"
    if isinstance(schema.get("format"), str):
        return FORMAT_DESCRIPTIONS.get(schema["format"], f"a value in the {schema['format']} format")
    if "const" in schema:
        return f"exactly {json.dumps(schema['const'], ensure_ascii=False)}"
    if "enum" in schema:
        return "one of " + ", ".join(json.dumps(v, ensure_ascii=False) for v in schema["enum"])
    if "pattern" in schema:     # shown without the "(?!\n)" guard: readers want the shape, not the trick
        return f"text matching {schema['pattern'].replace(_NEWLINE_GUARD, '$')}"
    kind = schema.get("type")
    if kind == "string":
        most = f" of at most {schema['maxLength']} characters" if "maxLength" in schema else ""
        return ("a non-empty string" if schema.get("minLength", 0) >= 1 else "a string") + most
    if kind in ("integer", "number"):
        noun = "an integer" if kind == "integer" else "a number"
        low, high = schema.get("minimum"), schema.get("maximum")
        if low is not None and high is not None:
            return f"{noun} from {low} to {high}"
        bounds = [f"of at least {low}"] if low is not None else [f"of at most {high}"] if high is not None else []
        return " ".join([noun, *bounds])
    return {"boolean": "true or false", "object": "an object", "array": "a list",
            "null": "null"}.get(kind, "a value") if isinstance(kind, str) else "a value"
