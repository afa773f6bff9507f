#!/usr/bin/env python3
"""LGSP hub: the one entry point. ``python run.py --help`` lists the commands."""
import sys

if len(sys.argv) > 1 and sys.argv[1] == "serve":
    # nameko runs on eventlet: patch before anything imports socket, threading or time.
    import warnings

    warnings.filterwarnings("ignore", message=".*Eventlet is deprecated.*")
    import eventlet

    eventlet.monkey_patch()

from hub.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
