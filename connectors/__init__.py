"""Connectors: one partner per module, registered by name with hub.registry.connectors."""
