"""CPU time and memory of processes, read from /proc (Linux): the hub's process tree, the broker, the database.

No dependency: /proc/<pid>/stat gives utime+stime in clock ticks, /proc/<pid>/status gives VmRSS and VmHWM (peak).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[str, int, float] | None:
    """(comm, parent pid, cpu seconds) of a process, None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    comm = text[text.index("(") + 1:text.rindex(")")]
    fields = text[text.rindex(")") + 2:].split()
    return comm, int(fields[1]), (int(fields[11]) + int(fields[12])) / TICK


def _status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return 0


def all_pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def tree(root: int) -> list[int]:
    """``root`` and all its descendants."""
    parents: dict[int, list[int]] = {}
    for pid in all_pids():
        st = _stat(pid)
        if st:
            parents.setdefault(st[1], []).append(pid)
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(parents.get(pid, []))
    return out


def by_name(prefix: str) -> list[int]:
    return [pid for pid in all_pids() if (st := _stat(pid)) and st[0].startswith(prefix)]


@dataclass
class Group:
    """A set of processes found again at each sample (a tree grows when workers start)."""
    name: str
    root: int | None = None
    comm_prefix: str | None = None

    def pids(self) -> list[int]:
        if self.root is not None:
            return tree(self.root)
        return by_name(self.comm_prefix or "")

    def cpu_seconds(self) -> float:
        return sum(st[2] for pid in self.pids() if (st := _stat(pid)))

    def rss_mb(self) -> float:
        return sum(_status_kb(pid, "VmRSS") for pid in self.pids()) / 1024

    def peak_mb(self) -> float:
        """Sum of each process's own high-water mark (VmHWM): an upper bound of the group's peak."""
        return sum(_status_kb(pid, "VmHWM") for pid in self.pids()) / 1024


def loadavg() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


class Sampler:
    """Samples groups every ``interval`` s in a thread (the bench's own process, not the hub): CPU per pid, so that
    a short-lived process (a PostgreSQL backend, a restarted worker) keeps its last-seen CPU after it exits, and
    the peak of each group's summed RSS."""

    def __init__(self, groups: dict[str, Group], interval: float = 0.5) -> None:
        import threading
        self.groups, self.interval = groups, interval
        self.start = {name: self._cpu_by_pid(g) for name, g in groups.items()}
        self.seen = {name: dict(v) for name, v in self.start.items()}
        self.peak_rss = {name: 0.0 for name in groups}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    @staticmethod
    def _cpu_by_pid(group: Group) -> dict[int, float]:
        return {pid: st[2] for pid in group.pids() if (st := _stat(pid))}

    def sample(self) -> None:
        for name, group in self.groups.items():
            self.seen[name].update(self._cpu_by_pid(group))
            self.peak_rss[name] = max(self.peak_rss[name], group.rss_mb())

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def cpu(self) -> dict[str, float]:
        self.sample()
        return {name: round(sum(cpu - self.start[name].get(pid, 0.0) for pid, cpu in seen.items()), 3)
                for name, seen in self.seen.items()}

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)
