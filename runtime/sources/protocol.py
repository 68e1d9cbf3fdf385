"""What the service needs of a source: run until stopped, and say whether it is receiving input yet.

Sources (`JetStreamSource`, `MqttSource`, `SyntheticTraffic`) feed one deployment's pipeline. Those whose input
must be acknowledged hand each message's ack (`Settle`) to the checkpointer (`SettleLater`), which runs it once
the window change is in a DuckDB checkpoint (`runtime.checkpoint`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

Settle = Callable[[], Awaitable[None]]  # acknowledges one input message to its broker
SettleLater = Callable[[Settle], None]  # runs a Settle after the next checkpoint that covers its message


class Source(Protocol):
    @property
    def ready(self) -> bool:
        """True while it receives input (a bound consumer, a granted subscription); `/readyz` needs every
        source ready."""
        ...

    async def run(self) -> None:
        """Feed the pipeline until the service's stopping event is set, then finish the batches in flight."""
        ...
