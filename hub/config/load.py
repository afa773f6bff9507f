"""Load and fully validate the configuration directory: every problem at once, each with file, line and fix."""
from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import re
from pathlib import Path
from typing import Any, Callable

import jsonschema
import yaml
from referencing import Registry, Resource

from hub import limits, registry
from hub.config.model import (ClientConfig, Condition, ConfigProblem, ConnectorConfig, HubConfig, HubSettings,
                              RetryPolicy, RouteConfig, Step)
from hub.config.yamlsrc import YamlSource, read_yaml
from hub.errors import ConfigError

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas" / "config"
FILES = ("hub.yaml", "connectors.yaml", "routes.yaml")
_REF = re.compile(r"\$\{(env|file|sim):([^}:]+)(?::-([^}]*))?\}")
_DURATION = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d)$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
STEP_KINDS = ("validate", "transform", "sign", "verify")


def parse_duration(value: Any) -> float:
    if isinstance(value, (int, float)):
        return float(value)
    m = _DURATION.match(str(value))
    if not m:
        raise ValueError(f"not a duration: {value!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


class _Collector:
    """Accumulates problems so `run.py check` can list them all in one run."""

    def __init__(self) -> None:
        self.problems: list[ConfigProblem] = []

    def add(self, src: YamlSource | None, keys: tuple, message: str, fix: str) -> None:
        name = src.path.name if src else "config"
        line = src.line_of(keys) if src else 1
        self.problems.append(ConfigProblem(name, line, message, fix))


def _schema_registry() -> Registry:
    resources = []
    for path in SCHEMA_DIR.glob("*.schema.json"):
        resources.append((path.name, Resource.from_contents(json.loads(path.read_text()))))
    return Registry().with_resources(resources)


def _check_schema(src: YamlSource, schema_name: str, out: _Collector) -> None:
    schema = json.loads((SCHEMA_DIR / schema_name).read_text())
    validator = jsonschema.Draft202012Validator(schema, registry=_schema_registry())
    for err in sorted(validator.iter_errors(src.data), key=lambda e: [str(p) for p in e.absolute_path]):
        keys = tuple(err.absolute_path)
        where = "/".join(str(p) for p in keys) or "(top level)"
        if err.validator == "additionalProperties" and isinstance(err.instance, dict):
            allowed = list(err.schema.get("properties", {}))
            for extra in [k for k in err.instance if k not in allowed]:
                hint = registry.suggest(str(extra), allowed)
                out.add(src, keys + (extra,), f"{where}: unknown key '{extra}'",
                        f"did you mean '{hint}'?" if hint else f"remove it; allowed here: {', '.join(allowed)}")
            continue
        out.add(src, keys, f"{where}: {err.message}",
                f"see schemas/config/{schema_name} for the allowed form of '{where}'")


def _substitute(value: Any, keys: tuple, src: YamlSource, out: _Collector, sim_base: str) -> Any:
    """Resolve ${env:NAME}, ${env:NAME:-default}, ${file:PATH} and ${sim:NAME} in every string."""
    if isinstance(value, dict):
        return {k: _substitute(v, keys + (k,), src, out, sim_base) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, keys + (i,), src, out, sim_base) for i, v in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value

    def resolve(m: re.Match[str]) -> str:
        kind, name, default = m.group(1), m.group(2), m.group(3)
        if kind == "env":
            if name in os.environ:
                return os.environ[name]
            if default is not None:
                return default
            out.add(src, keys, f"environment variable {name} is not set",
                    f"export {name}=... before starting the hub (or give a default: ${{env:{name}:-value}})")
            return ""
        if kind == "file":
            path = Path(name)
            if not path.is_file():
                out.add(src, keys, f"secret file {name} does not exist", f"create {name} or fix the path")
                return ""
            return path.read_text(encoding="utf-8").strip()
        return f"{sim_base}/{name}"

    return _REF.sub(resolve, value)


def _settings(data: dict[str, Any], overrides: dict[str, Any]) -> HubSettings:
    hub = data.get("hub") or {}
    http = hub.get("http") or {}
    sims = hub.get("simulators") or {}
    values: dict[str, Any] = {
        "sandbox": hub.get("sandbox", True),
        "transport": os.environ.get("HUB_TRANSPORT") or hub.get("transport", "memory://"),
        "store": os.environ.get("HUB_STORE") or hub.get("store", "sqlite:///var/hub.db"),
        "quorum_queues": bool((hub.get("bus") or {}).get("quorum_queues", False)),
        "http_host": http.get("host", "127.0.0.1"),
        "http_port": http.get("port", 8080),
        "max_body_bytes": http.get("max_body_bytes", 1_048_576),
        "call_timeout": parse_duration((hub.get("calls") or {}).get("timeout", 10)),
        "simulators": sims.get("enabled", True),
        "sim_host": sims.get("host", "127.0.0.1"),
        "sim_port": sims.get("port", 8090),
        "plugins": tuple(hub.get("plugins", registry.DEFAULT_PLUGIN_PACKAGES)),
        "retry_sweep_interval": parse_duration((hub.get("scheduler") or {}).get("retry_sweep_interval", 1)),
        "var_dir": hub.get("var_dir", "var"),
        "limits": limits.from_config(hub.get("limits"), http.get("max_body_bytes")),
        "store_keys_file": (hub.get("store_keys") or {}).get("file"),
        "retention": tuple((t, parse_duration(d)) for t, d in ((hub.get("retention") or {}).get("types") or {}).items()),
        "retention_default": parse_duration((hub.get("retention") or {}).get("default", "180d")),
    }
    values.update({k: v for k, v in overrides.items() if v is not None})
    return HubSettings(**values)


def _clients(src: YamlSource, resolved: dict[str, Any], out: _Collector) -> dict[str, ClientConfig]:
    clients = {}
    for cid, spec in (resolved.get("clients") or {}).items():
        token_hash = spec.get("token_sha256")
        if "token" in spec:  # a literal token is refused by _literal_secrets, with every other secret
            token_hash = hashlib.sha256(spec["token"].encode()).hexdigest() if spec["token"] else None
        if token_hash is not None and not re.fullmatch(r"[0-9a-f]{64}", token_hash):
            out.add(src, ("clients", cid, "token_sha256"), f"client {cid}: token_sha256 is not 64 hex digits",
                    "compute it with: printf %s 'TOKEN' | sha256sum")
        if token_hash is None:
            out.add(src, ("clients", cid), f"client {cid} has no token",
                    "add token_sha256: <sha256 hex> or token: ${env:NAME}")
        hook = spec.get("webhook") or {}
        clients[cid] = ClientConfig(id=cid, name=spec.get("name", cid), token_sha256=token_hash,
                                    allow=tuple(spec.get("allow", ())), agencies=tuple(spec.get("agencies", ())),
                                    webhook_url=hook.get("url"), webhook_secret=hook.get("secret"))
    return clients


def _connectors(src: YamlSource, data: dict[str, Any], out: _Collector) -> dict[str, ConnectorConfig]:
    result = {}
    for name, spec in (data.get("connectors") or {}).items():
        ctype = spec.get("type")
        if ctype not in registry.connectors:
            hint = registry.suggest(str(ctype), registry.connectors.names())
            out.add(src, ("connectors", name, "type"), f"connector {name}: unknown type '{ctype}'",
                    f"did you mean '{hint}'?" if hint else f"use one of: {', '.join(registry.connectors.names())}")
        options = {k: v for k, v in spec.items() if k not in ("type", "timeout", "concurrency", "circuit", "allow_ips")}
        allow_ips = _networks(src, name, spec.get("allow_ips"), out)
        schema = registry.connectors.get(ctype).config_schema if ctype in registry.connectors else {}
        for err in jsonschema.Draft202012Validator(schema).iter_errors(options):
            where = "/".join(str(p) for p in err.absolute_path) or name
            out.add(src, ("connectors", name) + tuple(err.absolute_path), f"connector {name}: {where}: {err.message}",
                    f"see the options of connector type '{ctype}' (python run.py check --explain {ctype})")
        result[name] = ConnectorConfig(name=name, type=ctype, options=options,
                                       timeout=parse_duration(spec.get("timeout", 10)),
                                       concurrency=int(spec.get("concurrency", 10)), allow_ips=allow_ips,
                                       circuit={k: (parse_duration(v) if k != "failures" else int(v))
                                                for k, v in (spec.get("circuit") or {}).items()})
    return result


# Option names that hold secrets; their values must come from ${env:...} or ${file:...}, never the YAML itself
# (a config directory is copied, reviewed, committed; a secret in it leaks with it). signing_key names a key.
SECRET_OPTION = re.compile(r"(?:^|_)(?:password|passwd|secret|token)$|(?:^|_)(?:access|secret|api|private|hmac)_key$")


def _literal_secrets(src: YamlSource, section: str, out: _Collector) -> None:
    for name, spec in (src.data.get(section) or {}).items():
        for key, value in _secret_options(spec):
            if isinstance(value, str) and not _REF.fullmatch(value.strip()):
                out.add(src, (section, name) + key, f"{section[:-1]} {name}: {'.'.join(map(str, key))} is a secret "
                        "written in the file", f"give it as ${{env:NAME}} or ${{file:/path/to/secret}}")


def _secret_options(spec: Any, keys: tuple = ()) -> list[tuple[tuple, Any]]:
    found: list[tuple[tuple, Any]] = []
    if isinstance(spec, dict):
        for k, v in spec.items():
            if isinstance(v, (dict, list)):
                found += _secret_options(v, keys + (k,))
            elif SECRET_OPTION.search(str(k)):
                found.append((keys + (k,), v))
    elif isinstance(spec, list):
        for i, v in enumerate(spec):
            found += _secret_options(v, keys + (i,))
    return found


def _networks(src: YamlSource, name: str, value: Any, out: _Collector) -> tuple[str, ...]:
    """allow_ips: addresses or CIDR networks the partner calls back from."""
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    good = []
    for i, item in enumerate(items):
        try:
            good.append(str(ipaddress.ip_network(str(item), strict=False)))
        except ValueError:
            out.add(src, ("connectors", name, "allow_ips", i), f"connector {name}: allow_ips: {item!r} is not an "
                    "address or network", "write addresses like 203.0.113.7 or networks like 203.0.113.0/24")
    return tuple(good)


def _conditions(when: dict[str, Any]) -> tuple[Condition, ...]:
    conds = []
    for path, test in when.items():
        op, value = (next(iter(test.items())) if isinstance(test, dict) else ("eq", test))
        conds.append(Condition(tuple(path.split(".")), op, value))
    return tuple(conds)


def _retry(src: YamlSource, keys: tuple, spec: dict[str, Any], out: _Collector) -> RetryPolicy:
    policy = RetryPolicy(**{k: (parse_duration(v) if k in ("backoff", "max_backoff", "max_age") else v)
                            for k, v in spec.items()})
    if policy.backoff > policy.max_backoff:
        out.add(src, keys + ("backoff",), f"retry backoff {policy.backoff:g}s is above max_backoff {policy.max_backoff:g}s",
                "make backoff <= max_backoff")
    if policy.max_age < policy.backoff:
        out.add(src, keys + ("max_age",), f"retry max_age {policy.max_age:g}s is shorter than the first backoff",
                "make max_age longer than backoff, or set max_attempts: 1 for no retries")
    return policy


def _routes(src: YamlSource, data: dict[str, Any], connectors: dict[str, ConnectorConfig],
            message_types: Callable[[str], bool], out: _Collector) -> tuple[RouteConfig, ...]:
    routes, seen = [], {}
    for i, spec in enumerate(data.get("routes") or []):
        name, keys = spec["name"], ("routes", i)
        if name in seen:
            out.add(src, keys + ("name",), f"route name '{name}' is used twice (first at line {seen[name]})",
                    "give each route a unique name: traces and dead letters refer to it")
        seen.setdefault(name, src.line_of(keys))
        if spec["to"] not in connectors:
            hint = registry.suggest(spec["to"], connectors)
            out.add(src, keys + ("to",), f"route {name} goes to '{spec['to']}', which is not a configured connector",
                    f"did you mean '{hint}'?" if hint else "add it to connectors.yaml or fix 'to'")
        types = (spec["from"],) if isinstance(spec["from"], str) else tuple(spec["from"])
        for t in types:
            if not any(ch in t for ch in "*?[") and not message_types(t):
                out.add(src, keys + ("from",), f"route {name} takes '{t}', which is not a message type",
                        "use a type from schemas/messages/ (file name without .json)")
        steps = []
        for j, step in enumerate(spec.get("steps") or []):
            kinds = [k for k in STEP_KINDS if k in step]
            if len(kinds) != 1:
                out.add(src, keys + ("steps", j), f"route {name} step {j + 1} must have exactly one of {STEP_KINDS}",
                        "write each step as {transform: NAME} or {validate: NAME} or {sign: KEY} or {verify: TRUST}")
                continue
            kind = kinds[0]
            if kind == "transform" and step[kind] not in registry.transforms:
                hint = registry.suggest(step[kind], registry.transforms.names())
                out.add(src, keys + ("steps", j, kind), f"route {name}: unknown transform '{step[kind]}'",
                        f"did you mean '{hint}'?" if hint else f"use one of: {', '.join(registry.transforms.names())}")
            steps.append(Step(kind, step[kind], step.get("options") or {}))
        tests = spec.get("tests")
        if tests and not (src.path.parent / tests).is_file():
            out.add(src, keys + ("tests",), f"route {name}: test file {tests} does not exist", "create it or remove 'tests'")
        routes.append(RouteConfig(name=name, types=types, to=spec["to"], when=_conditions(spec.get("when") or {}),
                                  steps=tuple(steps), retry=_retry(src, keys + ("retry",), spec.get("retry") or {}, out),
                                  on_failure=spec.get("on_failure", "dead_letter"), options=spec.get("options") or {},
                                  tests=str(src.path.parent / tests) if tests else None))
    return tuple(routes)


def _signing(sources: dict[str, YamlSource], resolved: dict[str, Any], directory: Path, out: _Collector) -> None:
    """The signing: section (keys, trust stores; no key is read here) and every route's sign step."""
    from hub.signing.config import base_dir, check_section, check_sign_step, check_verify_step
    section = resolved["hub.yaml"].get("signing") or {}
    for p in check_section(section, base_dir(directory), os.environ):
        out.add(sources["hub.yaml"], p.path, str(p), p.fix)
    for i, spec in enumerate(resolved["routes.yaml"].get("routes") or []):
        for j, step in enumerate(spec.get("steps") or []):
            if isinstance(step, dict) and "sign" in step:
                for message, fix in check_sign_step(step["sign"], step.get("options") or {}, section):
                    out.add(sources["routes.yaml"], ("routes", i, "steps", j, "sign"), f"route {spec['name']}: {message}", fix)
            if isinstance(step, dict) and "verify" in step:
                for message, fix in check_verify_step(step["verify"], step.get("options") or {}, section):
                    out.add(sources["routes.yaml"], ("routes", i, "steps", j, "verify"), f"route {spec['name']}: {message}", fix)


def load_config(directory: str | Path = "config", overrides: dict[str, Any] | None = None,
                message_types: Callable[[str], bool] | None = None) -> HubConfig:
    directory = Path(directory)
    out = _Collector()
    sources: dict[str, YamlSource] = {}
    for fname, schema in zip(FILES, ("hub.schema.json", "connectors.schema.json", "routes.schema.json")):
        path = directory / fname
        if not path.is_file():
            out.add(None, (), f"{path} is missing", f"create {fname} (see the sandbox config in config/)")
            continue
        try:
            sources[fname] = read_yaml(path)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            out.problems.append(ConfigProblem(fname, (mark.line + 1) if mark else 1, f"not valid YAML: {exc}",
                                              "fix the YAML syntax (indentation, quotes, colons)"))
            continue
        _check_schema(sources[fname], schema, out)
    if out.problems:
        raise ConfigError(out.problems)

    # Simulator address and plugin packages first (they are never secrets), then every ${...} reference.
    early = _settings(sources["hub.yaml"].data, overrides or {})
    registry.load_plugins(early.plugins)
    sim_base = f"http://{early.sim_host}:{early.sim_port}"
    resolved = {f: _substitute(s.data, (), s, out, sim_base) for f, s in sources.items()}
    settings = _settings(resolved["hub.yaml"], overrides or {})
    if message_types is None:
        from hub.schemas import default_catalog
        message_types = default_catalog().has_type
    clients = _clients(sources["hub.yaml"], resolved["hub.yaml"], out)
    connectors = _connectors(sources["connectors.yaml"], resolved["connectors.yaml"], out)
    _literal_secrets(sources["connectors.yaml"], "connectors", out)
    _literal_secrets(sources["hub.yaml"], "clients", out)
    routes = _routes(sources["routes.yaml"], resolved["routes.yaml"], connectors, message_types, out)
    _signing(sources, resolved, directory, out)
    if out.problems:
        raise ConfigError(out.problems)
    return HubConfig(directory=str(directory), settings=settings, clients=clients, connectors=connectors,
                     routes=routes, signing=resolved["hub.yaml"].get("signing") or {},
                     operators=resolved["hub.yaml"].get("operators") or {})
