"""Extra ``run.py`` commands, one module each. A module defines ``register(subparsers, common)``:

    def register(sub, common):
        p = sub.add_parser("keys", help="...", description="...")
        common(p)                      # adds --config
        p.set_defaults(func=run)       # run(args) -> exit code

hub/cli.py imports every module here, so adding a command never edits cli.py.
"""
