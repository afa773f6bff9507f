"""Config validation: each class of error is found, with its file, line and a fix."""
from __future__ import annotations

from pathlib import Path

import pytest

from hub.config import load_config
from hub.errors import ConfigError


def problems_of(directory: Path) -> list:
    with pytest.raises(ConfigError) as info:
        load_config(directory)
    return info.value.problems


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def test_sandbox_config_is_valid():
    config = load_config(Path(__file__).resolve().parents[2] / "config")
    assert "demo" in config.clients and "echo" in config.connectors
    names = [r.name for r in config.routes_for("demo.ping")]
    assert names[:2] == ["demo-ping-to-echo", "demo-ping-notify-client"]
    assert config.clients["demo"].may_send("dossier.sync")


def test_unknown_connector_type_suggests_the_close_one(config_dir):
    edit(config_dir / "connectors.yaml", "type: echo", "type: ecko")
    [p] = problems_of(config_dir)
    assert p.file == "connectors.yaml" and p.line == line_of(config_dir / "connectors.yaml", "type: ecko")
    assert "unknown type 'ecko'" in p.message and "did you mean 'echo'" in p.fix


def test_route_to_nowhere_names_the_line_and_suggests(config_dir):
    routes = config_dir / "routes.yaml"
    edit(routes, "    to: echo\n    retry: {max_attempts: 8", "    to: ehco\n    retry: {max_attempts: 8")
    [p] = problems_of(config_dir)
    assert p.file == "routes.yaml" and p.line == line_of(routes, "to: ehco")
    assert "not a configured connector" in p.message and "did you mean 'echo'" in p.fix


def test_missing_env_var_is_named(config_dir, monkeypatch):
    monkeypatch.delenv("HUB_TEST_SECRET_X", raising=False)
    edit(config_dir / "hub.yaml", "${env:HUB_DEMO_WEBHOOK_SECRET:-sandbox-webhook-secret}", "${env:HUB_TEST_SECRET_X}")
    [p] = problems_of(config_dir)
    assert "HUB_TEST_SECRET_X" in p.message and "export HUB_TEST_SECRET_X" in p.fix
    assert p.line == line_of(config_dir / "hub.yaml", "HUB_TEST_SECRET_X")


def test_env_var_set_is_used(config_dir, monkeypatch):
    monkeypatch.setenv("HUB_TEST_SECRET_X", "s3cret")
    edit(config_dir / "hub.yaml", "${env:HUB_DEMO_WEBHOOK_SECRET:-sandbox-webhook-secret}", "${env:HUB_TEST_SECRET_X}")
    assert load_config(config_dir).clients["demo"].webhook_secret == "s3cret"


def test_bad_retry_policy(config_dir):
    edit(config_dir / "routes.yaml", "backoff: 1s, multiplier: 2, max_backoff: 1m", "backoff: 5m, multiplier: 2, max_backoff: 1m")
    [p] = problems_of(config_dir)
    assert "above max_backoff" in p.message and p.file == "routes.yaml"


def test_retry_policy_schema_violation(config_dir):
    edit(config_dir / "routes.yaml", "max_attempts: 8", "max_attempts: 0")
    [p] = problems_of(config_dir)
    assert "max_attempts" in p.message and p.line == line_of(config_dir / "routes.yaml", "max_attempts: 0")


def test_duplicate_route_name(config_dir):
    edit(config_dir / "routes.yaml", "name: demo-ping-notify-client", "name: demo-ping-to-echo")
    [p] = problems_of(config_dir)
    lines = [i for i, text in enumerate((config_dir / "routes.yaml").read_text().splitlines(), 1)
             if "name: demo-ping-to-echo" in text]
    assert "used twice" in p.message and p.line == lines[1] and f"first at line {lines[0]}" in p.message


def test_unknown_message_type_in_route(config_dir):
    edit(config_dir / "routes.yaml", "from: demo.echo", "from: demo.ehco")
    [p] = problems_of(config_dir)
    assert "not a message type" in p.message


def test_unknown_transform(config_dir):
    edit(config_dir / "routes.yaml", "transform: identity", "transform: identiti")
    [p] = problems_of(config_dir)
    assert "unknown transform 'identiti'" in p.message and "did you mean 'identity'" in p.fix


def test_literal_token_refused(config_dir):
    edit(config_dir / "hub.yaml", "token_sha256: c374ab859e573043704fad01a4af4d95d3f53441068745fe4267c76365d3f684",
         "token: plain-text-token")
    [p] = problems_of(config_dir)
    assert "token is a secret written in the file" in p.message and "plain-text-token" not in str(p)


def test_yaml_syntax_error_has_line(config_dir):
    (config_dir / "routes.yaml").write_text("routes:\n  - name: x\n    from: [demo.ping\n")
    [p] = problems_of(config_dir)
    assert p.file == "routes.yaml" and "not valid YAML" in p.message and p.line >= 3


def test_every_problem_is_listed_at_once(config_dir):
    edit(config_dir / "connectors.yaml", "type: echo", "type: ecko")
    edit(config_dir / "routes.yaml", "transform: identity", "transform: identiti")
    edit(config_dir / "routes.yaml", "name: demo-ping-notify-client", "name: demo-ping-to-echo")
    messages = " | ".join(p.message for p in problems_of(config_dir))
    assert "ecko" in messages and "identiti" in messages and "used twice" in messages


def test_unknown_key_is_refused_with_line(config_dir):
    edit(config_dir / "routes.yaml", "    to: onestop\n", "    to: onestop\n    retries: 3\n")
    [p] = problems_of(config_dir)
    assert "retries" in p.message and p.line == line_of(config_dir / "routes.yaml", "retries: 3")


def test_yaml_tags_are_not_executed(config_dir):
    (config_dir / "routes.yaml").write_text("routes: !!python/object/apply:os.system ['true']\n")
    [p] = problems_of(config_dir)
    assert "not valid YAML" in p.message
