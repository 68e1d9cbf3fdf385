"""Errors of the NATS shell. nats-py's exceptions never leave this package; each is chained as `__cause__`.

NatsError                      anything that went wrong talking to NATS or managing a server's config
├── NatsUnreachable            no connection, a timeout, or no JetStream answering in that domain
├── NatsLoginRefused           the server refused the login: wrong credentials, or users being reloaded
├── NatsApiError               the server refused a JetStream API request (`code`, `err_code`, `description`)
└── NatsServerConfigError      a config file could not be written or the server could not be signalled
"""

from __future__ import annotations

import nats.errors
import nats.js.errors


class NatsError(Exception):
    """Base of every error the NATS shell raises."""


class NatsUnreachable(NatsError):
    """The server (or the JetStream domain behind a leafnode) did not answer."""


class NatsLoginRefused(NatsError):
    """The server answered the login with 'Authorization Violation': the credentials are wrong, or the server was
    swapping its users and accounts (a config reload, which refuses logins for a moment) when we connected."""


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


_UNREACHABLE = (
    nats.errors.NoServersError,
    nats.errors.TimeoutError,
    nats.errors.NoRespondersError,
    nats.errors.ConnectionClosedError,
    nats.errors.StaleConnectionError,
    nats.js.errors.ServiceUnavailableError,
    ConnectionError,
    OSError,
    TimeoutError,
)


def wrap_client_error(exc: BaseException, doing: str) -> NatsError:
    """nats-py's `exc` as one of ours, for this package's modules to raise `from exc`."""
    if isinstance(exc, nats.js.errors.APIError) and not isinstance(exc, nats.js.errors.ServiceUnavailableError):
        return NatsApiError(
            f"{doing}: {exc.description or exc} (code {exc.code}, err_code {exc.err_code})",
            code=exc.code,
            err_code=exc.err_code,
            description=exc.description or "",
        )
    if isinstance(exc, nats.errors.AuthorizationError) or "Authorization Violation" in str(exc):
        return NatsLoginRefused(f"{doing}: the server refused the login (Authorization Violation)")
    if isinstance(exc, _UNREACHABLE):
        return NatsUnreachable(f"{doing}: {type(exc).__name__}: {exc or 'no answer in time'}")
    return NatsError(f"{doing}: {type(exc).__name__}: {exc}")
