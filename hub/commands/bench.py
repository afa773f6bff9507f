"""``python run.py bench``: the benchmarks of bench/ (issue 10) in one run; results in bench/results/."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[2]


def register(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    try:
        from bench.main import add_arguments
    except ImportError:  # an installed hub without the repository's bench/ directory: no bench command
        return
    text = "run the benchmarks (bench/): scenarios x deployments, baselines, Node-RED; results in bench/results/"
    p = sub.add_parser("bench", help=text, description=text)
    common(p)
    add_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bench.main import run as run_bench
    return run_bench(args)
