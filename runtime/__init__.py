"""edgeops runtime: the edge inference service that runs in every zone.

The face of the package is its config model (`runtime.config`): the contract with the reconciler, which renders
it as runtime.json and imports it from here; nothing in the runtime imports the reconciler. The service itself
starts from `runtime.service.serve` (`edgeops serve`, `python -m runtime serve`).

The names are resolved on first use, so that importing a submodule does not load pydantic: the feature store's
writer process (`runtime.store.writer_process`) needs only DuckDB and Arrow and starts faster without it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runtime.config import (
        ArtifactConfig,
        BatchingConfig,
        ConfigError,
        DurableConsumerConfig,
        ExecutionProvider,
        FeatureConfig,
        FeatureOp,
        FeatureStoreConfig,
        ModelDeploymentConfig,
        MqttSourceConfig,
        NatsConnectionConfig,
        PartitionsConfig,
        PullScheduleConfig,
        PullWindowConfig,
        RuntimeConfig,
        SigningKeyConfig,
        StateConfig,
        SubjectsConfig,
        SyntheticTrafficConfig,
        Track,
        WindowConfig,
        load_runtime_config,
    )

__all__ = [
    "ArtifactConfig",
    "BatchingConfig",
    "ConfigError",
    "DurableConsumerConfig",
    "ExecutionProvider",
    "FeatureConfig",
    "FeatureOp",
    "FeatureStoreConfig",
    "ModelDeploymentConfig",
    "MqttSourceConfig",
    "NatsConnectionConfig",
    "PartitionsConfig",
    "PullScheduleConfig",
    "PullWindowConfig",
    "RuntimeConfig",
    "SigningKeyConfig",
    "StateConfig",
    "SubjectsConfig",
    "SyntheticTrafficConfig",
    "Track",
    "WindowConfig",
    "load_runtime_config",
]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module 'runtime' has no attribute {name!r}")
    module = importlib.import_module("runtime.config")
    value = getattr(module, name)
    globals()[name] = value  # resolved once
    return value
