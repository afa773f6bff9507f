"""The bench harness itself works (issue 10): the load generator against a simulator in its own process, the
/proc meter, and a bench config with the bench-only fan-out routes that the hub's loader accepts. Seconds."""
from __future__ import annotations

import json
import os

import pytest

from bench import load
from bench.baselines import EchoUnits
from bench.procs import Group, Sampler
from bench.scenarios import SCENARIOS
from bench.stack import Simulators, bench_config
from hub.config import load_config


def test_load_generator_and_meter_against_the_echo_simulator(tmp_path):
    sims = Simulators(tmp_path).start()
    try:
        meter = Sampler({"simulators": Group("simulators", root=sims.proc.pid)}, interval=0.1)
        saturated = load.run(sims.url + "/echo/messages", EchoUnits(), 0.5, 4, processes=1, ok_status=200)
        paced = load.run(sims.url + "/echo/messages", EchoUnits(), 1.0, 2, rate=20, processes=1, ok_status=200)
        cpu = meter.cpu()
        meter.stop()
    finally:
        sims.stop()
    assert saturated.ok > 10 and not saturated.errors
    assert 10 <= paced.ok <= 25, paced.ok   # open loop: about 20 sends in the second, not as many as possible
    assert cpu["simulators"] > 0 and meter.peak_rss["simulators"] > 10
    assert load.percentiles([1.0, 2.0, 3.0, 4.0])["p50"] == 3.0


def test_bench_config_adds_three_way_fan_out(tmp_path):
    config = load_config(str(bench_config(tmp_path / "config", 18999, SCENARIOS["slow-partner"].connectors)))
    units = SCENARIOS["fan-out"].units("t")("0-0", 1)
    matching = [r.name for r in config.routes if r.name.startswith(("bench-fanout", "demo-ping-to-echo"))]
    assert len(matching) == 3 and units[0]["payload"]["text"].startswith("fanout")
    assert config.connectors["echo"].concurrency == 128


def test_dvcqg_units_give_each_dossier_its_own_code():
    units = SCENARIOS["dvcqg-sync"].units("t")
    codes = {units(f"{p}-{t}", n)[0]["subject"] for p in range(2) for t in range(16) for n in range(50)}
    assert len(codes) == 2 * 16 * 50


def test_the_soak_verdict_needs_thirty_flat_minutes_and_nothing_lost_or_doubled():
    from bench.report import soak_target

    def soak(rss, lost=0, twice=0):  # noqa: ANN001, ANN202
        drift = max(abs(r - rss[0]) / rss[0] for r in rss)
        return {"minutes": [{"hub_rss_mb": r} for r in rss], "rate_per_s": 200.0, "mode": "rabbitmq+postgresql/1w",
                "hub_rss_mb_first_last_max": [rss[0], rss[-1], max(rss)], "memory_drift_vs_first_minute": drift,
                "memory_flat_within_10_percent": drift <= 0.10, "accepted": 1000, "lost": lost, "unsettled": 0,
                "nothing_lost": lost == 0, "partner_keys_sent_more_than_once": twice}

    assert soak_target(None)[2] == "not measured"
    assert soak_target(soak([230.0] * 30))[2] == "met"
    assert soak_target(soak([230.0] * 29 + [260.0]))[2] == "missed"      # +13 %: memory grew
    assert soak_target(soak([230.0] * 30, lost=1))[2] == "missed"
    assert soak_target(soak([230.0] * 30, twice=1))[2] == "missed"
    assert soak_target(soak([230.0] * 5))[2] == "missed"                 # five minutes are not a 30-minute soak
    assert "drift 0.0%" in soak_target(soak([230.0] * 30))[1]


def test_the_validation_probe_times_both_validators_on_every_fixture(capsys):
    import json

    from bench import validate
    assert validate.main(["--rounds", "2"]) == 0
    types = json.loads(capsys.readouterr().out)["types"]
    assert {"document.send", "dossier.sync", "demo.ping"} <= set(types)
    assert all(row["verdict_ms"] > 0 and row["jsonschema_walk_ms"] > 0 for row in types.values())


def test_a_second_run_on_one_date_keeps_the_first_runs_file_under_its_commit(tmp_path):
    from bench.main import save

    first = save(tmp_path, "2026-12-03-pass-through", {"scenario": "pass-through", "commit": "aaaaaaa", "rate": 1})
    second = save(tmp_path, "2026-12-03-pass-through", {"scenario": "pass-through", "commit": "bbbbbbb", "rate": 2})
    third = save(tmp_path, "2026-12-03-pass-through", {"scenario": "pass-through", "commit": "bbbbbbb", "rate": 3})
    assert first == second == third == tmp_path / "2026-12-03-pass-through.json"
    assert json.loads(third.read_text())["rate"] == 3
    assert json.loads((tmp_path / "2026-12-03-pass-through-aaaaaaa.json").read_text())["rate"] == 1
    assert json.loads((tmp_path / "2026-12-03-pass-through-bbbbbbb.json").read_text())["rate"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2026-12-03-pass-through-aaaaaaa.json",
                                                          "2026-12-03-pass-through-bbbbbbb.json",
                                                          "2026-12-03-pass-through.json"]


def test_a_result_names_the_commit_it_measured(tmp_path):
    from bench.main import commit, save

    doc = json.loads(save(tmp_path, "x", {"scenario": "x"}).read_text())
    assert doc["commit"] == commit() and doc["commit"] != ""


def test_the_benchs_own_result_files_do_not_make_the_code_dirty(tmp_path, monkeypatch):
    import subprocess

    import bench.main

    def git(*args: str) -> None:
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=tmp_path, check=True,
                       capture_output=True)

    (tmp_path / "bench" / "results").mkdir(parents=True)
    (tmp_path / "bench" / "results" / "r.json").write_text("{}")
    (tmp_path / "code.py").write_text("x = 1\n")
    git("init", "-q")
    git("add", "-A")
    git("commit", "-qm", "c")
    monkeypatch.setattr(bench.main, "ROOT", tmp_path)
    (tmp_path / "bench" / "results" / "r.json").rename(tmp_path / "bench" / "results" / "r-old.json")
    assert not bench.main.commit().endswith("+dirty")
    (tmp_path / "code.py").write_text("x = 2\n")
    assert bench.main.commit().endswith("+dirty")
