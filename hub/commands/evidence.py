"""``python run.py evidence ID > bundle.zip`` and ``python run.py evidence --verify bundle.zip``.

Export: the exact bytes signed and sent (or received and verified) for one message, their signatures, the
certificates with their chain and CA, and the message's trace (hub/signing/bundle.py has the layout).
Verify: offline, from the zip alone; prints one line per check and a verdict; exit 1 on any mismatch.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Callable


def register(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    text = "export one message's signature evidence as a zip (to stdout), or --verify such a zip offline"
    p = sub.add_parser("evidence", help=text, description=text)
    common(p)
    p.add_argument("id", nargs="?", help="the message id to export")
    p.add_argument("--verify", metavar="BUNDLE", help="check a bundle offline; exit 1 on any mismatch")
    p.add_argument("--store", help="database URL (default: hub.yaml's store)")
    p.add_argument("-o", "--output", help="write the zip here instead of stdout")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.verify:
        return verify(Path(args.verify))
    if not args.id:
        print("give a message id to export, or --verify BUNDLE", file=sys.stderr)
        return 2
    return export(args)


def export(args: argparse.Namespace) -> int:
    from hub.config import load_config
    from hub.signing import bundle
    from hub.store import Store
    from hub.store.codec import for_config
    from hub.store.evidence import evidence_for
    config = load_config(args.config, overrides={"store": args.store} if args.store else {})
    store = Store(config.settings.store, for_config(config))
    try:
        record = store.message(args.id)
        if record is None:
            print(f"no message {args.id} in the store (python run.py trace --subject DOSSIER lists ids)", file=sys.stderr)
            return 1
        evidence = evidence_for(store, args.id)
    finally:
        store.close()
    if not evidence:
        print(f"message {args.id} has no signature evidence (nothing was signed or verified for it)", file=sys.stderr)
        return 1
    data = bundle.build(args.id, record, evidence)
    if args.output:
        Path(args.output).write_bytes(data)
    else:
        if sys.stdout.isatty():
            print("refusing to write a zip to a terminal: redirect (> bundle.zip) or use -o FILE", file=sys.stderr)
            return 2
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return 0


def verify(path: Path) -> int:
    from hub.signing import bundle
    try:
        raw = path.read_bytes()
    except OSError as exc:
        print(f"cannot read {path}: {exc.strerror}", file=sys.stderr)
        return 2
    checks = bundle.verify(raw)
    for check in checks:
        print(check)
    ok = bool(checks) and all(c.ok for c in checks)
    print(f"VERDICT: {'OK' if ok else 'FAILED'} ({sum(c.ok for c in checks)}/{len(checks)} checks passed)")
    return 0 if ok else 1
