"""``python run.py operator-hash``: the password_hash of a dashboard account (config/hub.yaml ``operators:``)."""
from __future__ import annotations

import argparse
import getpass

from hub.web.auth import hash_password


def run(args: argparse.Namespace) -> int:
    password = getpass.getpass("password: ")
    if len(password) < 12:
        print("use at least 12 characters")
        return 1
    if getpass.getpass("again: ") != password:
        print("the two passwords differ")
        return 1
    print(hash_password(password))
    return 0


def register(sub, common) -> None:  # noqa: ANN001 - argparse's types
    p = sub.add_parser("operator-hash", help="hash a dashboard password for operators: in hub.yaml",
                       description="Print the scrypt hash of a password, for operators: <user>: password_hash.")
    common(p)
    p.set_defaults(func=run)
