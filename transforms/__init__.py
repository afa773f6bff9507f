"""Transforms: pure functions canonical payload <-> partner payload, registered with hub.registry.transforms."""
