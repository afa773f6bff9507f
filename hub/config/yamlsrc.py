"""YAML with line numbers: problems name the file and the line, not just a key path."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import yaml


@dataclass
class YamlSource:
    path: Path
    data: Any
    node: yaml.Node | None

    def line_of(self, keys: Sequence[Any]) -> int:
        """1-based line of the deepest node along ``keys`` that exists (the closest we can point to)."""
        node = self.node
        line = node.start_mark.line + 1 if node is not None else 1
        for key in keys:
            child = _child(node, key)
            if child is None:
                break
            node = child
            line = node.start_mark.line + 1
        return line


def _child(node: yaml.Node | None, key: Any) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if k.value == key or (isinstance(key, str) and str(k.value) == key):
                return v
    elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and 0 <= key < len(node.value):
        return node.value[key]
    return None


def read_yaml(path: Path) -> YamlSource:
    """safe_load only: tags that execute code are refused by construction (reliability.md)."""
    text = path.read_text(encoding="utf-8")
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    data = yaml.safe_load(text)
    return YamlSource(path, data if data is not None else {}, node)
