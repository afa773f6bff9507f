"""``python run.py procedures sync|show``: the hub's copy of the national procedure catalogue (CSDL TTHC).

``sync`` pulls LayDanhSachTTHC + LayThuTuc + LayDVC through the configured ``dvcqg`` connector (the scheduler does
the same every ``catalogue_sync_interval``); ``show CODE`` prints one record as the ``procedure.lookup`` call
answers it. With the sandbox config, start the simulators first (``run.py serve``) or pass ``--sim``.
"""
from __future__ import annotations

import argparse
import json
from typing import Any, Callable


def register(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    text = "sync the procedure catalogue from the national database, or show one procedure"
    p = sub.add_parser("procedures", help=text, description=text)
    common(p)
    p.add_argument("action", choices=["sync", "show"])
    p.add_argument("code", nargs="?", help="procedure code for 'show', e.g. 1.000894")
    p.add_argument("--store", help="store URL (default: hub.yaml)")
    p.add_argument("--connector", help="name of the dvcqg connector (default: the first of type dvcqg)")
    p.add_argument("--sim", action="store_true", help="serve the simulators in this process while syncing (sandbox)")
    p.add_argument("--sim-port", type=int, help="port of the simulators (default: hub.yaml)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from hub import registry
    from hub.config import load_config
    from hub.runtime import ConnectorContext
    from hub.store import Store, procedures
    overrides = {k: v for k, v in {"store": args.store, "sim_port": args.sim_port}.items() if v is not None}
    config = load_config(args.config, overrides=overrides)
    store = Store(config.settings.store)
    store.migrate()
    if args.action == "show":
        record = procedures.get(store, args.code or "")
        print(json.dumps(record, ensure_ascii=False, indent=2) if record else f"no procedure {args.code} in the catalogue")
        return 0 if record else 1
    registry.load_plugins(config.settings.plugins)
    name = args.connector or next((n for n, c in config.connectors.items() if c.type == "dvcqg"), None)
    if name is None:
        print("no connector of type dvcqg in config/connectors.yaml")
        return 1
    spec = config.connectors[name]
    context = ConnectorContext(config)
    context.store = store
    connector = registry.connectors.get(spec.type)(name, spec.options, context)
    server = _simulators(config) if args.sim else None
    connector.start()
    try:
        count = connector.sync_catalogue()
    finally:
        connector.stop()
        if server is not None:
            server.shutdown()
        store.close()
    print(f"{count} procedure(s) synced from {name}")
    return 0


def _simulators(config: Any) -> Any:
    import threading
    from werkzeug.serving import make_server
    from hub.simhost import simulators_app
    app, _ = simulators_app()
    server = make_server(config.settings.sim_host, config.settings.sim_port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
