"""The runtime's NATS connection: the configured login (secrets read from the environment at start) and a
connection that retries until the server answers and reconnects for ever after.

The client takes any subject the server delivers: NATS servers accept every byte but whitespace in a subject, and
nats-py decodes a delivered subject as strict UTF-8, so one message a sensor published on a subject that is not
UTF-8 would raise inside the client's read loop, never reach the runtime and come back (and block the consumer)
at every redelivery. Such a subject arrives with U+FFFD in place of the bad bytes instead."""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from runtime.config import NatsConnectionConfig, RuntimeConfig

log = logging.getLogger("edgeops.runtime")


class MissingCredential(RuntimeError):
    """A credential's environment variable named in the config is not set."""


def nats_credentials(nats: NatsConnectionConfig) -> dict[str, str]:
    """nats-py connect options for the configured login, read from the environment at start."""

    def read(env: str, what: str) -> str:
        value = os.environ.get(env)
        if not value:
            raise MissingCredential(f"nats: {what} is read from ${env}, which is not set")
        return value

    if nats.user is not None and nats.password_env is not None:
        return {"user": nats.user, "password": read(nats.password_env, f"the password of user {nats.user!r}")}
    if nats.token_env:
        return {"token": read(nats.token_env, "the token")}
    if nats.creds_file_env:
        return {"user_credentials": read(nats.creds_file_env, "the creds file path")}
    return {}


async def connect_nats(config: RuntimeConfig, stopping: asyncio.Event) -> Any:
    options: dict[str, Any] = {
        "name": config.nats.name,
        "max_reconnect_attempts": -1,
        "reconnect_time_wait": 0.25,
        "connect_timeout": 2,
        # SubjectsConfig come from the validated config; per-publish regex checks cost ~10% of a message's CPU.
        "skip_subject_validation": True,
        "error_cb": _nats_error,
        "disconnected_cb": _nats_event("disconnected"),
        "reconnected_cb": _nats_event("reconnected"),
    }
    options.update(nats_credentials(config.nats))
    delay = 0.2
    while True:
        try:
            client = _any_subject_client()
            await client.connect(config.nats.url, **options)
            return client
        except Exception as exc:
            if stopping.is_set():
                raise
            log.warning("nats %s: cannot connect (%r); retrying", config.nats.url, exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


def _any_subject_client() -> Any:
    """A nats-py client that decodes a delivered message's subject leniently (see the module docstring)."""
    from nats.aio.client import Client

    class AnySubjectClient(Client):
        def _build_message(self, sid: int, subject: bytes, reply: bytes, data: bytes, headers: Any) -> Any:
            return super()._build_message(sid, subject.decode("utf-8", "replace").encode(), reply, data, headers)

    return AnySubjectClient()


async def _nats_error(exc: Exception) -> None:
    log.debug("nats: %r", exc)


def _nats_event(what: str) -> Any:
    async def callback() -> None:
        log.info("nats: %s", what)

    return callback
