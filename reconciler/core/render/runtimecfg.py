"""The runtime's config (runtime/config.py, the contract) for one model track in one zone.

Stream, durable consumer and subject names come from `reconciler.core.nats.naming`, the one module the zone's
NATS config and JetStream assets are rendered from too (see its docstring for the subject layout).
"""

from __future__ import annotations

from reconciler.core.nats import naming
from reconciler.core.render.labels import NATS_RELEASE
from reconciler.core.spec import FleetSpec, Model, ModelAssignment, ModelVersion, Zone
from runtime import (
    ArtifactConfig,
    ExecutionProvider,
    FeatureConfig,
    FeatureOp,
    ModelDeploymentConfig,
    NatsConnectionConfig,
    PartitionsConfig,
    RuntimeConfig,
    SigningKeyConfig,
    StateConfig,
    SubjectsConfig,
    SyntheticTrafficConfig,
    Track,
    WindowConfig,
)

METRICS_PORT = 9464
CONFIG_DIR = "/etc/edgeops"
CONFIG_FILE = "runtime.json"
# A partitioned track's pods learn their ordinal from their StatefulSet pod name (`<name>-<ordinal>`) in this variable.
ORDINAL_ENV = "EDGEOPS_ORDINAL"


def runtime_track(assignment: ModelAssignment, track: str) -> Track:
    if track == "stable":
        return Track.STABLE
    assert assignment.canary is not None
    return Track.SHADOW if assignment.canary.phase == "shadow" else Track.CANARY


def track_replicas(assignment: ModelAssignment, track: str) -> int:
    """Pods of a track: the assignment's replicas for stable; one canary pod is enough to gather evidence on the
    small share of traffic a canary gets (none while the model is scaled to zero)."""
    if track == "stable":
        return assignment.replicas
    return 1 if assignment.replicas > 0 else 0


def artifact_ref(spec: FleetSpec, zone: Zone, ref: str) -> str:
    """Model refs are registry-relative (repository:tag): each zone pulls from its own region's registry host.
    A ref that already names a host (first component with '.' or ':', or localhost) is kept."""
    first = ref.split("/", 1)[0]
    if "/" in ref and ("." in first or ":" in first or first == "localhost"):
        return ref
    region = spec.region(zone.spec.region)
    host = region.registry.split("/", 1)[0] if region is not None else ""
    return f"{host}/{ref}" if host else ref


def providers_for(zone: Zone, version: ModelVersion) -> tuple[ExecutionProvider, ...]:
    """GPU sites prefer TensorRT then CUDA; a version verified on CPU only runs on the CPU provider where the
    zone accepts that fallback. WASM and CPU sites use the CPU provider."""
    if zone.spec.hardware.target != "gpu":
        return (ExecutionProvider.CPU,)
    if version.compat.gpu.result != "pass" and zone.spec.hardware.fallback == "cpu":
        return (ExecutionProvider.CPU,)
    return (ExecutionProvider.TENSORRT, ExecutionProvider.CUDA, ExecutionProvider.CPU)


def nats_url(namespace: str) -> str:
    return f"nats://{NATS_RELEASE}.{namespace}.svc:4222"


def model_deployment(
    spec: FleetSpec, zone: Zone, assignment: ModelAssignment, model: Model, *, track: str
) -> ModelDeploymentConfig:
    version_name = assignment.version if track == "stable" else _canary_version(assignment)
    version = model.spec.version(version_name)
    if version is None:  # the loader's cross-reference rules make this unreachable for a loaded spec
        raise ValueError(f"zone {zone.name}: model {model.name} has no version {version_name}")
    window = model.spec.window
    run_track = runtime_track(assignment, track)
    return ModelDeploymentConfig(
        name=model.name,
        version=version.version,
        track=run_track,
        artifact=ArtifactConfig(ref=artifact_ref(spec, zone, version.artifact.ref), digest=version.artifact.digest),
        subjects=_subjects(zone, assignment, run_track),
        partitions=_partitions(assignment, track),
        window=WindowConfig(
            key=assignment.window_key or window.key,
            size=window.size,
            features=tuple(FeatureConfig(name=f.name, op=FeatureOp(f.op), field=f.field) for f in window.features),
        ),
        providers=providers_for(zone, version),
        synthetic=_synthetic(spec, assignment) if run_track is Track.SHADOW else None,
        state=_state(zone, assignment, run_track),
    )


def _partitions(assignment: ModelAssignment, track: str) -> PartitionsConfig | None:
    if assignment.partitions is None:
        return None
    # A track scaled to zero runs no pod to read this; the config still has to be valid.
    replicas = max(1, track_replicas(assignment, track))
    return PartitionsConfig(count=assignment.partitions, replicas=replicas, ordinal_env=ORDINAL_ENV)


def _subjects(zone: Zone, assignment: ModelAssignment, track: Track) -> SubjectsConfig:
    names = naming.track_names(
        zone.name, assignment.model, assignment.input, assignment.output, track, partitioned=assignment.partitioned
    )
    return SubjectsConfig(
        stream=names.stream,
        input=names.input,
        durable=names.durable,
        result=names.result,
        shadow=names.shadow,
        dead_letter=names.dead_letter,
    )


def _state(zone: Zone, assignment: ModelAssignment, track: Track) -> StateConfig:
    names = naming.track_names(zone.name, assignment.model, assignment.input, assignment.output, track)
    return StateConfig(stream=names.state_stream, subject=names.state)


def runtime_config(
    spec: FleetSpec, zone: Zone, assignment: ModelAssignment, model: Model, *, track: str, namespace: str
) -> RuntimeConfig:
    return RuntimeConfig(
        zone=zone.name,
        region=zone.spec.region,
        nats=NatsConnectionConfig(
            url=nats_url(namespace),
            user=naming.RUNTIME_USER,
            password_env=naming.PASSWORD_ENV[naming.RUNTIME_USER],
        ),
        models=(model_deployment(spec, zone, assignment, model, track=track),),
        metrics_port=METRICS_PORT,
        model_signing_keys=tuple(
            SigningKeyConfig(name=path, pem=pem) for path, pem in spec.signing_keys(zone.spec.region).items()
        ),
    )


def _canary_version(assignment: ModelAssignment) -> str:
    assert assignment.canary is not None
    return assignment.canary.version


def _synthetic(spec: FleetSpec, assignment: ModelAssignment) -> SyntheticTrafficConfig | None:
    policy = spec.policy_for(assignment)
    if policy is None or policy.spec.shadow is None or policy.spec.shadow.synthetic_ratio == 0:
        return None
    # Synthetic load tops up mirrored traffic; its rate is modest so the shadow never starves stable pods.
    return SyntheticTrafficConfig(rate_per_s=10.0, real_fraction=round(1.0 - policy.spec.shadow.synthetic_ratio, 6))
