"""The feature store: per-key windows in memory (`windows`), checkpointed to a DuckDB file (`duckdb_store`) by
the service until the windows are restored and by a writer process after that (`writer_process`), all driven by
`FeatureStore` (`feature_store`). Importing it loads DuckDB and Arrow, never pydantic: the writer process imports
this package too."""

from runtime.store.duckdb_store import Snapshot
from runtime.store.feature_store import MARK_REFRESH_WRITES, FeatureStore
from runtime.store.windows import RETAIN_FACTOR, DeploymentWindows, Window

__all__ = ["MARK_REFRESH_WRITES", "RETAIN_FACTOR", "DeploymentWindows", "FeatureStore", "Snapshot", "Window"]
