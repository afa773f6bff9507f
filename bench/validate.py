"""Validation of each message type's fixture: the verdict the gateway uses (jsonschema-rs, hub/schemas.py) next to
jsonschema's full walk (what every payload cost before 2026-12-03, and what a refused payload still costs).

    .venv/bin/python -m bench.validate [--rounds 500]

Ratios hold across machines; the milliseconds do not. Prints one JSON document. Not part of the test suite.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "messages"


def _ms(fn: Callable[[], Any], rounds: int) -> float:
    fn()
    started = time.perf_counter()
    for _ in range(rounds):
        fn()
    return round((time.perf_counter() - started) / rounds * 1000, 4)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.validate", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=500)
    opts = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from hub.schemas import default_catalog
    catalog = default_catalog()
    rows = {}
    for path in sorted(FIXTURES.glob("*.json")):
        type_ = path.stem
        if not catalog.has_type(type_):
            continue
        payload = json.loads(path.read_text(encoding="utf-8"))
        checked = catalog._entry(type_).validator
        assert catalog.validate_payload(type_, payload) == [], f"fixture {type_} is not valid"
        verdict = _ms(lambda: checked.is_valid(payload), opts.rounds)
        walk = _ms(lambda: list(checked.explainer.iter_errors(payload)), opts.rounds)
        rows[type_] = {"bytes": len(json.dumps(payload, ensure_ascii=False).encode()), "verdict_ms": verdict,
                       "jsonschema_walk_ms": walk, "ratio": round(walk / verdict, 1) if verdict else None}
    print(json.dumps({"rounds": opts.rounds, "types": rows}, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
