"""The runtime configuration: the contract between the reconciler (which renders it into a ConfigMap as
`runtime.json`) and `edgeops serve` (which reads it).

Every model is strict (no coercion: `"1"` is not an int), frozen and rejects unknown fields, so a renderer
bug fails loudly at start instead of serving with a half-understood config. Load it from JSON with
`RuntimeConfig.model_validate_json` / `load_runtime_config` (JSON input gives enums from their string
values and tuples from arrays); render it with `config.model_dump_json()`.

Credentials are referenced by the name of an environment variable, never carried inline.

    RuntimeConfig
    ├── zone, region, metrics_port, model_dir, feature_store, otel_service_name
    ├── model_signing_keys: [{name, pem}]   cosign public keys; when any, only artifacts one of them signed run
    ├── nats: NatsConnectionConfig {url, token_env | creds_file_env}
    └── models: [ModelDeploymentConfig]
        ├── name, version, track (stable | canary | shadow)
        ├── artifact {ref, digest, local_path?}
        ├── subjects {stream, input, durable, result, shadow, dead_letter}
        ├── window {key, size, features: [{name, op, field?}]}
        ├── batching {max_batch_size, max_latency_ms}
        ├── providers (preference, e.g. [tensorrt, cuda, cpu])
        ├── mqtt? {url, topic, client_id, username_env?, password_env?}
        ├── synthetic? {rate_per_s, real_fraction}
        ├── state? {stream, subject, flush_interval_ms}
        ├── partitions? {count, replicas, ordinal_env, lease_ttl_ms, lease_renew_ms}
        └── pull {interval_s, window? {start, end}}
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from runtime.limits import DEFAULT_MAX_PAYLOAD_BYTES, MAX_PAYLOAD_BYTES

_NAME = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
_ENV_VAR = r"^[A-Z_][A-Z0-9_]*$"
_SUBJECT = r"^[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+|\.\*|\.>)*$"
_JS_NAME = r"^[A-Za-z0-9_\-]+$"
_HHMM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"

Name = Annotated[str, Field(pattern=_NAME)]
EnvVarName = Annotated[str, Field(pattern=_ENV_VAR)]
Subject = Annotated[str, Field(pattern=_SUBJECT, max_length=255)]
Token = Annotated[str, Field(pattern=_JS_NAME, max_length=255)]
FieldName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=64)]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True, extra="forbid")


class Track(StrEnum):
    STABLE = "stable"
    CANARY = "canary"
    SHADOW = "shadow"


class ExecutionProvider(StrEnum):
    """Preference names; `runtime.session` maps them onto onnxruntime's provider names."""

    TENSORRT = "tensorrt"
    CUDA = "cuda"
    CPU = "cpu"


class FeatureOp(StrEnum):
    LAST = "last"
    MEAN = "mean"
    STD = "std"
    MIN = "min"
    MAX = "max"
    SUM = "sum"
    COUNT = "count"
    DELTA = "delta"  # last minus previous; 0 with a single record
    ZSCORE = "zscore"  # (last - mean) / std; 0 when std is 0


class FeatureConfig(_Strict):
    name: FieldName
    op: FeatureOp
    field: FieldName | None = None

    @model_validator(mode="after")
    def _field_matches_op(self) -> Self:
        if self.op is FeatureOp.COUNT and self.field is not None:
            raise ValueError(f"feature {self.name!r}: op 'count' takes no field")
        if self.op is not FeatureOp.COUNT and self.field is None:
            raise ValueError(f"feature {self.name!r}: op {self.op.value!r} needs a field")
        return self


class WindowConfig(_Strict):
    """The sliding window: the last `size` records per `key`, turned into a float32 vector of `features`."""

    key: FieldName
    size: int = Field(ge=1, le=4096)
    features: tuple[FeatureConfig, ...] = Field(min_length=1, max_length=1024)

    @model_validator(mode="after")
    def _unique_feature_names(self) -> Self:
        names = [f.name for f in self.features]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"window features: duplicate names {duplicates}")
        if self.key in self.fields:
            raise ValueError(f"window key {self.key!r} is also a numeric feature field")
        return self

    @cached_property
    def fields(self) -> tuple[str, ...]:
        """The distinct record fields the features read, in first-use order (the stored columns)."""
        seen: dict[str, None] = {}
        for feature in self.features:
            if feature.field is not None:
                seen.setdefault(feature.field, None)
        return tuple(seen)


class ArtifactConfig(_Strict):
    """`digest` is the sha256 of the ONNX file itself (its OCI layer digest); the runtime checks it."""

    ref: str = Field(min_length=1, max_length=512)
    digest: str = Field(pattern=r"^sha256:[0-9a-f]{64}$")
    local_path: str | None = None

    def path_in(self, model_dir: Path) -> Path:
        """Where the puller leaves the file: `local_path` when given, else `<model_dir>/<hex>.onnx`."""
        if self.local_path is not None:
            return Path(self.local_path)
        return model_dir / f"{self.digest.removeprefix('sha256:')}.onnx"


class SubjectsConfig(_Strict):
    stream: Token
    input: Subject
    durable: Token
    result: Subject
    shadow: Subject
    dead_letter: Subject


class BatchingConfig(_Strict):
    """Adaptive micro-batching: take whatever is waiting, at most `max_batch_size`, and never hold the first
    message of a batch longer than `max_latency_ms` waiting for more."""

    max_batch_size: int = Field(default=64, ge=1, le=4096)
    max_latency_ms: float = Field(default=1.0, ge=0.0, le=1000.0)


class MqttSourceConfig(_Strict):
    """An MQTT 5 subscription (QoS 2, persistent session) feeding the same pipeline."""

    url: str = Field(pattern=r"^mqtts?://[^/\s]+(:\d+)?/?$")
    topic: str = Field(min_length=1, max_length=1024)
    client_id: str = Field(min_length=1, max_length=128)
    username_env: EnvVarName | None = None
    password_env: EnvVarName | None = None


class SyntheticTrafficConfig(_Strict):
    """Canary pre-analysis: a blend of recent real records replayed from the feature store (`real_fraction`)
    and generated ones, at `rate_per_s`; results go only to the shadow subject."""

    rate_per_s: float = Field(gt=0.0, le=100_000.0)
    real_fraction: float = Field(default=0.5, ge=0.0, le=1.0)
    seed: int = 0


class PullWindowConfig(_Strict):
    """UTC maintenance window `start` to `end` (HH:MM); `end` before `start` wraps past midnight."""

    start: str = Field(pattern=_HHMM)
    end: str = Field(pattern=_HHMM)


class PullScheduleConfig(_Strict):
    interval_s: int = Field(default=300, ge=10, le=7 * 24 * 3600)
    window: PullWindowConfig | None = None


class StateConfig(_Strict):
    """Where a deployment's windows survive the pod: a JetStream stream keeping the last message per subject,
    `<subject>.k.<key, base64url>` per key and `<subject>.mark` for the replay mark (`runtime.changelog`).
    Written every `flush_interval_ms`, off the ack path: a restore re-applies the input from the mark on. A flush
    writes each key changed since the last one once, so a longer interval writes less where keys repeat (a busy
    key changes with every record) and replays more input after a lost disk."""

    stream: Token
    subject: Subject
    flush_interval_ms: int = Field(default=5000, ge=10, le=60_000)


class PartitionsConfig(_Strict):
    """Scale-out by key: the zone's subject mapping splits the input into `count` partitions by a hash of the window
    key's subject token, one durable consumer `<durable>-p<p>` per partition. `replicas` processes share them: the
    one whose ordinal is o owns every partition p with p % replicas == o, with its own windows and changelog
    (`<state.subject>.p<p>`) per partition, so a key's window is never split. The ordinal is read at start from
    the environment variable `ordinal_env`: a number, or a StatefulSet pod name ending in `-<number>`.

    Each partition has a lease (`runtime.lease`, `<state.subject>.p<p>.lease`) so that when `replicas` changes the
    old owner drains and releases a partition before its new owner starts on it: renewed every `lease_renew_ms`,
    claimed by another process only after `lease_ttl_ms` without a renewal, and given up by a holder that could not
    renew it for half of that."""

    count: int = Field(ge=1, le=1024)
    replicas: int = Field(ge=1, le=1024)
    ordinal_env: EnvVarName = "EDGEOPS_ORDINAL"
    lease_ttl_ms: int = Field(default=15_000, ge=300, le=600_000)
    lease_renew_ms: int = Field(default=2_000, ge=50, le=200_000)

    @model_validator(mode="after")
    def _every_replica_owns_a_partition(self) -> Self:
        if self.replicas > self.count:
            raise ValueError(f"partitions: {self.replicas} replicas need at least as many partitions, not {self.count}")
        if self.lease_renew_ms * 3 > self.lease_ttl_ms:
            raise ValueError(
                f"partitions: lease_renew_ms {self.lease_renew_ms} leaves no room for a failed renewal within "
                f"lease_ttl_ms {self.lease_ttl_ms}: renew at most every third of it"
            )
        return self

    def owned(self, ordinal: int) -> tuple[int, ...]:
        return tuple(p for p in range(self.count) if p % self.replicas == ordinal)

    def ordinal_from(self, environ: Mapping[str, str]) -> int:
        """This replica's ordinal from `environ[ordinal_env]`; ConfigError when it is missing or out of range."""
        value = environ.get(self.ordinal_env, "")
        match = re.fullmatch(r"(?:.*-)?([0-9]{1,6})", value)
        if match is None:
            raise ConfigError(f"partitions: ${self.ordinal_env} is {value!r}, not an ordinal or a name ending in -<n>")
        ordinal = int(match.group(1))
        if ordinal >= self.replicas:
            raise ConfigError(f"partitions: ordinal {ordinal} (${self.ordinal_env}) but only {self.replicas} replicas")
        return ordinal


class ModelDeploymentConfig(_Strict):
    name: Name
    version: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$")
    track: Track
    artifact: ArtifactConfig
    subjects: SubjectsConfig
    window: WindowConfig
    batching: BatchingConfig = BatchingConfig()
    providers: tuple[ExecutionProvider, ...] = Field(
        default=(ExecutionProvider.TENSORRT, ExecutionProvider.CUDA, ExecutionProvider.CPU), min_length=1
    )
    max_payload_bytes: int = Field(default=DEFAULT_MAX_PAYLOAD_BYTES, ge=64, le=MAX_PAYLOAD_BYTES)
    mqtt: MqttSourceConfig | None = None
    synthetic: SyntheticTrafficConfig | None = None
    pull: PullScheduleConfig = PullScheduleConfig()
    state: StateConfig | None = None  # None: windows live only in the local DuckDB file
    partitions: PartitionsConfig | None = None  # None: one process, one durable consumer

    @model_validator(mode="after")
    def _partitions_need_state(self) -> Self:
        if self.partitions is not None and self.state is None:
            raise ValueError("partitions: need `state`, where partitions keep the windows that move between "
                             "replicas and their leases")  # fmt: skip
        return self

    @property
    def deployment_id(self) -> str:
        """Stable per model and track: keys windows, result ids and metric series."""
        return f"{self.name}.{self.track.value}"


class NatsConnectionConfig(_Strict):
    """How the runtime logs in: a user with a password, a token, or a creds file — each secret read at start
    from the environment variable named here, never carried in the config."""

    url: str = Field(pattern=r"^(nats|tls)://[^\s]+$")
    user: str | None = Field(default=None, min_length=1, max_length=128)
    password_env: EnvVarName | None = None
    token_env: EnvVarName | None = None
    creds_file_env: EnvVarName | None = None
    name: str = "edgeops-runtime"

    @model_validator(mode="after")
    def _one_credential(self) -> Self:
        if (self.user is None) != (self.password_env is None):
            raise ValueError("nats: user and password_env go together")
        given = [
            n
            for n, v in (("user", self.user), ("token_env", self.token_env), ("creds_file_env", self.creds_file_env))
            if v
        ]
        if len(given) > 1:
            raise ValueError(
                f"nats: give one login (user/password_env, token_env or creds_file_env), not both {' and '.join(given)}"
            )
        return self


class DurableConsumerConfig(_Strict):
    """What the runtime needs of each deployment's durable pull consumer; the reconciler renders exactly this
    (`reconciler.core.nats.assets`).

    Deliveries are unlimited because nothing transient may use them up: the runtime never NAKs, it holds a batch
    through a model outage and keeps every message it still works on `in progress` (a third of `ack_wait`), so
    only a crash or restart redelivers; a record that is itself bad is dead-lettered and acked by the runtime.
    `ack_wait` is far above a checkpoint interval plus a publish round trip; `max_ack_pending` above the message
    rate times the time a message waits for its checkpoint, with room for a held batch and a burst."""

    ack_wait_s: int = Field(default=30, ge=1)
    max_deliver: int = Field(default=-1, ge=-1)  # -1: unlimited
    max_ack_pending: int = Field(default=20_000, ge=1)


class FeatureStoreConfig(_Strict):
    path: str = "/var/lib/edgeops/features.duckdb"
    # A checkpoint every `flush_rows` inputs, or `flush_interval_ms` after the last (`runtime.checkpoint`).
    flush_interval_ms: int = Field(default=500, ge=10, le=60_000)
    flush_rows: int = Field(default=256, ge=1, le=100_000)
    max_keys: int = Field(default=100_000, ge=1, le=50_000_000)


class SigningKeyConfig(_Strict):
    """A cosign public key the region trusts for model artifacts (`name`: its fleet/keys/*.pub path)."""

    name: str = Field(min_length=1, max_length=256)
    pem: str = Field(pattern=r"^-----BEGIN PUBLIC KEY-----\n[A-Za-z0-9+/=\n]+-----END PUBLIC KEY-----\n?$")

    @model_validator(mode="after")
    def _ecdsa_p256(self) -> Self:
        # Refused when the config is read, not when the puller first needs the key.
        from runtime.cosign import load_public_key

        load_public_key(self.pem, name=self.name)  # BadKey is a ValueError: pydantic reports it with the field
        return self


class RuntimeConfig(_Strict):
    zone: Name
    region: Name
    nats: NatsConnectionConfig
    models: tuple[ModelDeploymentConfig, ...] = Field(min_length=1)
    metrics_port: int = Field(default=9464, ge=0, le=65535)  # 0: pick a free port (tests)
    metrics_host: str = "0.0.0.0"  # noqa: S104 - scraped by Prometheus from outside the pod
    model_dir: str = "/var/lib/edgeops/models"
    feature_store: FeatureStoreConfig = FeatureStoreConfig()
    model_signing_keys: tuple[SigningKeyConfig, ...] = Field(default=(), max_length=64)

    @model_validator(mode="after")
    def _unique_deployments(self) -> Self:
        ids = [m.deployment_id for m in self.models]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"models: each name+track appears once, repeated: {duplicates}")
        durables = [(m.subjects.stream, m.subjects.durable) for m in self.models]
        if len(set(durables)) != len(durables):
            raise ValueError("models: two deployments share one stream/durable consumer")
        return self


class ConfigError(ValueError):
    """The file is missing, not JSON, or not a valid RuntimeConfig; the message names the path and field."""


def load_runtime_config(path: Path) -> RuntimeConfig:
    from pydantic import ValidationError

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc
    try:
        return RuntimeConfig.model_validate_json(text)
    except ValidationError as exc:
        lines = [f"{path}: invalid runtime config ({exc.error_count()} errors)"]
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "<root>"
            lines.append(f"  {where}: {err['msg']}")
        raise ConfigError("\n".join(lines)) from exc
