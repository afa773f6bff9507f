"""Configuration: YAML files in one directory, loaded once, validated fully.

``load_config(directory)`` returns a :class:`HubConfig` or raises :class:`hub.errors.ConfigError`
carrying every problem found, each with file, line and the fix.
"""
from hub.config.load import load_config
from hub.config.model import (ClientConfig, ConfigProblem, ConnectorConfig, HubConfig, HubSettings, RetryPolicy,
                              RouteConfig)

__all__ = ["load_config", "HubConfig", "HubSettings", "ClientConfig", "ConnectorConfig", "RouteConfig",
           "RetryPolicy", "ConfigProblem"]
