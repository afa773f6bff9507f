"""Audit the pinned dependency set (setup.cfg) with pip-audit.

Prints one of three verdicts and exits with its code:
  ``dependencies: clean`` (0)            the advisory source answered and lists nothing for the pinned set
  ``dependencies: VULNERABLE ...`` (1)   the advisory source lists vulnerabilities (each printed)
  ``dependencies: not checked ...`` (3)  the advisory source could not be reached (offline machine): never "clean"

`make test` runs it through tests/security/test_dependencies.py.
"""
from __future__ import annotations

import configparser
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOT_CHECKED = 3


def pinned(setup_cfg: Path = ROOT / "setup.cfg") -> list[str]:
    parser = configparser.ConfigParser()
    parser.read(setup_cfg, encoding="utf-8")
    lines = parser["options"]["install_requires"].splitlines()
    return [line.split("#")[0].strip() for line in lines if "==" in line]


def audit(requirements: list[str], timeout: float = 90) -> tuple[int, str]:
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as fh:
        fh.write("\n".join(requirements) + "\n")
    cmd = [sys.executable, "-m", "pip_audit", "-r", fh.name, "--no-deps", "--disable-pip", "-f", "json",
           "--progress-spinner", "off", "--timeout", "15"]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except (subprocess.TimeoutExpired, FileNotFoundError) as exc:
        return NOT_CHECKED, f"dependencies: not checked ({type(exc).__name__})"
    finally:
        Path(fh.name).unlink(missing_ok=True)
    try:
        report = json.loads(done.stdout)
    except ValueError:
        reason = (done.stderr.strip().splitlines() or ["pip-audit gave no report"])[-1][:200]
        return NOT_CHECKED, f"dependencies: not checked (advisory source unreachable: {reason})"
    found = [(d["name"], d["version"], v["id"]) for d in report.get("dependencies", []) for v in d.get("vulns", [])]
    if found:
        return 1, "dependencies: VULNERABLE\n" + "\n".join(f"  {n}=={ver}: {vid}" for n, ver, vid in found)
    skipped = [d["name"] for d in report.get("dependencies", []) if d.get("skip_reason")]
    if skipped:
        return NOT_CHECKED, f"dependencies: not checked for {', '.join(skipped)}"
    return 0, f"dependencies: clean ({len(requirements)} pinned packages audited)"


def main() -> int:
    code, text = audit(pinned())
    print(text)
    return code


if __name__ == "__main__":
    sys.exit(main())
