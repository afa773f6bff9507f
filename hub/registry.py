"""Named plugins: connectors, transforms, simulators.

Core code never imports a connector, transform or simulator by name. Plugin modules register themselves
with a decorator when imported, and :func:`load_plugins` imports every module of the packages named in
``config/hub.yaml`` (``plugins:``). Unknown names fail with a "did you mean", as kombu does for transports.
"""
from __future__ import annotations

import difflib
import importlib
import pkgutil
from typing import Callable, Generic, Iterable, TypeVar

T = TypeVar("T")


class UnknownPlugin(LookupError):
    def __init__(self, kind: str, name: str, known: Iterable[str]) -> None:
        self.kind, self.name = kind, name
        self.suggestion = suggest(name, known)
        hint = f" Did you mean '{self.suggestion}'?" if self.suggestion else ""
        super().__init__(f"unknown {kind} '{name}'.{hint} Known: {', '.join(sorted(known)) or 'none'}")


def suggest(name: str, known: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return close[0] if close else None


class Registry(Generic[T]):
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def decorator(item: T) -> T:
            existing = self._items.get(name)
            if existing is not None and existing is not item:
                raise RuntimeError(f"{self.kind} '{name}' registered twice ({existing!r} and {item!r})")
            self._items[name] = item
            return item
        return decorator

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            raise UnknownPlugin(self.kind, name, self._items) from None

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def names(self) -> list[str]:
        return sorted(self._items)


connectors: Registry[type] = Registry("connector type")
transforms: Registry[Callable] = Registry("transform")
simulators: Registry[Callable] = Registry("simulator")

DEFAULT_PLUGIN_PACKAGES = ("connectors", "transforms", "simulators")
_loaded: set[str] = set()


def load_plugins(packages: Iterable[str] = DEFAULT_PLUGIN_PACKAGES) -> None:
    """Import every module of each package once, so their decorators register them."""
    for package_name in packages:
        if package_name in _loaded:
            continue
        package = importlib.import_module(package_name)
        for info in pkgutil.walk_packages(package.__path__, prefix=package_name + "."):
            if not info.name.rsplit(".", 1)[-1].startswith("_"):
                importlib.import_module(info.name)
        _loaded.add(package_name)
