"""Errors of the NATS shell. nats-py's exceptions never leave this package; each is chained as `__cause__`.

NatsError                      anything that went wrong talking to NATS or managing a server's config
├── NatsUnreachable            no connection, a timeout, or no JetStream answering in that domain
├── NatsApiError               the server refused a JetStream API request (`code`, `err_code`, `description`)
└── NatsServerConfigError      a config file could not be written or the server could not be signalled
"""

from __future__ import annotations


class NatsError(Exception):
    """Base of every error the NATS shell raises."""


class NatsUnreachable(NatsError):
    """The server (or the JetStream domain behind a leafnode) did not answer."""


class NatsApiError(NatsError):
    def __init__(
        self, message: str, *, code: int | None = None, err_code: int | None = None, description: str = ""
    ) -> None:
        super().__init__(message)
        self.code = code
        self.err_code = err_code
        self.description = description


class NatsServerConfigError(NatsError):
    """Writing a server's config file or sending it the reload signal failed."""
