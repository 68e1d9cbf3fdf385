"""edgeops runtime: the edge inference service that runs in every zone.

`runtime.config` is the contract with the reconciler, which renders it; nothing here imports the reconciler.
"""
