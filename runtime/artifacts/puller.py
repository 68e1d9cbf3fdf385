"""`ModelPuller.ensure(ref, digest) -> Path`: a verified local copy of the artifact, from the cache or fetched.

The cache is content-addressed: `<model_dir>/<sha256-hex>.onnx` (`ArtifactConfig.path_in`), or the deployment's
`local_path`. A file is only ever placed by an atomic rename of a fully downloaded, fsynced and verified temp file
in the same directory, so the model manager never opens a partial or unverified model. Files already present are
re-hashed before use (once per change of size/mtime), so a corrupted cache entry is replaced, not served.

When the region trusts signing keys (`RuntimeConfig.model_signing_keys`), every ensure first checks the artifact's
cosign signature (`runtime.artifacts.signatures`), cache hit or not: a key removed from the fleet stops a cached
artifact it signed from being handed over again. Without keys, artifacts are checked by digest only and their
status says `unverified`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import re
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge

from runtime.artifacts.errors import PullError
from runtime.artifacts.fetch import download_verified
from runtime.artifacts.reference import parse_reference
from runtime.artifacts.signatures import SignatureVerifier
from runtime.config import SigningKeyConfig

log = logging.getLogger(__name__)

_CACHE_FILE = re.compile(r"^[0-9a-f]{64}\.onnx$")
DEFAULT_MAX_BYTES = 4 << 30


class PullMetrics:
    """The puller's Prometheus series, registered in the runtime's registry (`runtime.metrics.Metrics.registry`)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.failures = Counter(
            "edgeops_model_pull_failures_total",
            "Model artifact pulls, verifications or loads that failed (the previous model kept serving).",
            ["model", "reason"],
            registry=registry,
        )
        self.pulls = Counter(
            "edgeops_model_pulls_total",
            "Model artifacts made available locally, by where the verified bytes came from.",
            ["model", "source"],
            registry=registry,
        )
        self.last_success = Gauge(
            "edgeops_model_pull_last_success_timestamp_seconds",
            "Unix time of the last successful ensure (cache hit or fetch) per model.",
            ["model"],
            registry=registry,
        )


@dataclass(frozen=True)
class PullStatus:
    """What `/status` shows per model: the verified artifact and the latest failure, if any."""

    model: str
    digest: str | None = None
    path: str | None = None
    last_success: float | None = None
    last_attempt: float | None = None
    last_error: str | None = None
    last_error_reason: str | None = None
    consecutive_failures: int = 0
    signature: str | None = None  # "verified by <key>" or UNVERIFIED, for the artifact last made available


UNVERIFIED = "unverified: the region declares no model_signing_keys"


def _sha256_file(path: Path) -> str:
    hasher = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            hasher.update(chunk)
    return "sha256:" + hasher.hexdigest()


def _fsync_dir(directory: Path) -> None:
    # Make the rename itself durable; not every filesystem lets a directory be opened for this.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class ModelPuller:
    def __init__(
        self,
        model_dir: Path,
        *,
        metrics: PullMetrics,
        timeout_s: float = 30.0,
        max_bytes: int = DEFAULT_MAX_BYTES,
        clock: Callable[[], float] = time.time,
        signing_keys: Sequence[SigningKeyConfig] = (),
    ) -> None:
        self.model_dir = model_dir
        self.metrics = metrics
        self.timeout_s = timeout_s
        self.max_bytes = max_bytes
        self._clock = clock
        self._locks: dict[str, asyncio.Lock] = {}
        self._verified: dict[Path, tuple[int, int, str]] = {}  # path -> (size, mtime_ns, digest)
        self._status: dict[str, PullStatus] = {}
        self.trust(signing_keys)

    def trust(self, signing_keys: Sequence[SigningKeyConfig]) -> None:
        """The keys the next ensures verify against (a reloaded runtime config may change them)."""
        self._verifier = SignatureVerifier(signing_keys)
        if not self._verifier.enabled:
            log.warning("no model signing keys declared for this region: model artifacts are checked by digest only")

    # ------------------------------------------------------------------ status

    def status(self, model: str) -> PullStatus:
        return self._status.get(model, PullStatus(model=model))

    def statuses(self) -> tuple[PullStatus, ...]:
        return tuple(self._status[m] for m in sorted(self._status))

    def record_failure(self, model: str, error: PullError | str, reason: str | None = None) -> None:
        """Count a failure; also used by the scheduler when the model manager refuses to load a file."""
        label = reason or (error.reason if isinstance(error, PullError) else "error")
        self.metrics.failures.labels(model=model, reason=label).inc()
        current = self.status(model)
        self._status[model] = replace(
            current,
            last_attempt=self._clock(),
            last_error=str(error),
            last_error_reason=label,
            consecutive_failures=current.consecutive_failures + 1,
        )

    def _record_success(self, model: str, digest: str, path: Path, source: str, signature: str) -> None:
        now = self._clock()
        self.metrics.pulls.labels(model=model, source=source).inc()
        self.metrics.last_success.labels(model=model).set(now)
        self._status[model] = PullStatus(
            model=model, digest=digest, path=str(path), last_success=now, last_attempt=now, signature=signature
        )

    # ------------------------------------------------------------------ ensure

    def target_path(self, digest: str, local_path: Path | None = None) -> Path:
        return local_path if local_path is not None else self.model_dir / f"{digest.removeprefix('sha256:')}.onnx"

    async def ensure(self, ref: str, digest: str, *, model: str = "", local_path: Path | None = None) -> Path:
        """A local path whose bytes hash to `digest`; raises PullError (and counts it) when none can be had."""
        label = model or ref
        lock = self._locks.setdefault(digest, asyncio.Lock())
        async with lock:
            try:
                signature = await self._check_signature(ref, digest)
                path, source = await self._ensure_locked(ref, digest, self.target_path(digest, local_path))
            except PullError as error:
                self.record_failure(label, error)
                raise
            except OSError as error:  # disk full, permissions: the same "keep serving the old one" path
                failure = PullError(f"local cache: {error}")
                self.record_failure(label, failure, reason="cache")
                raise failure from error
        self._record_success(label, digest, path, source, signature)
        return path

    async def _check_signature(self, ref: str, digest: str) -> str:
        verifier = self._verifier
        if not verifier.enabled:
            return UNVERIFIED
        location = parse_reference(ref, digest)
        key = await asyncio.to_thread(verifier.verify, ref, location, timeout_s=self.timeout_s)
        return f"verified by {key}"

    async def _ensure_locked(self, ref: str, digest: str, target: Path) -> tuple[Path, str]:
        location = parse_reference(ref, digest)
        if await asyncio.to_thread(self._is_verified, target, digest):
            return target, "cache"
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.parent / f".{target.name}.{uuid.uuid4().hex}.part"
        try:
            await asyncio.to_thread(
                download_verified, location, partial, timeout_s=self.timeout_s, max_bytes=self.max_bytes
            )
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
        _fsync_dir(target.parent)
        self._remember(target, digest)
        return target, "registry"

    def _is_verified(self, path: Path, digest: str) -> bool:
        try:
            stat = path.stat()
        except FileNotFoundError:
            return False
        if self._verified.get(path) == (stat.st_size, stat.st_mtime_ns, digest):
            return True
        if _sha256_file(path) != digest:
            # Corrupted or tampered with on disk: never serve it; a fresh download replaces it.
            path.unlink(missing_ok=True)
            self._verified.pop(path, None)
            return False
        self._verified[path] = (stat.st_size, stat.st_mtime_ns, digest)
        return True

    def _remember(self, path: Path, digest: str) -> None:
        stat = path.stat()
        self._verified[path] = (stat.st_size, stat.st_mtime_ns, digest)

    def prune(self, keep_digests: Iterable[str]) -> list[Path]:
        """Delete cached `<hex>.onnx` files whose digest is not in `keep_digests` (what is serving or configured)."""
        keep = {d.removeprefix("sha256:") for d in keep_digests}
        removed: list[Path] = []
        if not self.model_dir.is_dir():
            return removed
        for entry in self.model_dir.iterdir():
            if _CACHE_FILE.match(entry.name) and entry.name.removesuffix(".onnx") not in keep:
                entry.unlink(missing_ok=True)
                self._verified.pop(entry, None)
                removed.append(entry)
        return removed
