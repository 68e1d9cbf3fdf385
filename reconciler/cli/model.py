"""`edgeops model build | compat | push`: model artifacts from source to registry.

Exit codes (all three commands): 0 done; 1 the check failed (compat: a target failed; push: a registry refused
or was unreachable); 2 bad input (missing or invalid build.py, golden.json, model.yaml, fleet.yaml, arguments).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from reconciler.cli.options import EXIT_ERROR, EXIT_USAGE

model_app = typer.Typer(
    name="model",
    help=(
        "Build, check and publish model artifacts.\n\n"
        "Exit codes: 0 ok; 1 a target failed or a registry refused / was unreachable; 2 bad input."
    ),
    no_args_is_help=True,
)

ModelDir = Annotated[Path, typer.Argument(help="the model folder, e.g. models/fraud-scoring")]


def _bad_input(error: Exception) -> typer.Exit:
    typer.echo(f"error: {error}", err=True)
    return typer.Exit(EXIT_USAGE)


@model_app.command("build")
def build_command(
    model_dir: ModelDir,
    *,
    version: Annotated[
        str | None, typer.Option(help="the model.yaml version whose `build` recipe to build (default: the latest)")
    ] = None,
) -> None:
    """Build one version's ONNX artifact (twice, to prove it reproducible) into <model>/dist/ and print its digest."""
    from reconciler.app.modelops import ModelSourceError, ModelYamlError, build_model
    from reconciler.core.modelops import ManifestError

    try:
        result = build_model(model_dir, version=version)
    except (ModelSourceError, ManifestError, ModelYamlError) as error:
        raise _bad_input(error) from error
    manifest = result.manifest
    signature = ", ".join(
        f"{t.name} {t.dtype}{list(t.shape)}".replace("'", "") for t in (*manifest.inputs, *manifest.outputs)
    )
    label = " ".join(filter(None, (result.source.name, result.version)))
    typer.echo(f"built {label}: {result.artifact_path} ({manifest.size} bytes, opset {manifest.opset}; {signature})")
    typer.echo(f"manifest {result.manifest_path}")
    typer.echo(manifest.digest)


@model_app.command("compat")
def compat_command(
    model_dir: ModelDir,
    *,
    targets: Annotated[str, typer.Option(help="comma-separated: cpu, wasm, gpu")] = "cpu,wasm,gpu",
    version: Annotated[
        str | None,
        typer.Option(help="the version to build (its `build` recipe) and record into (default: the latest)"),
    ] = None,
    record: Annotated[bool, typer.Option(help="write the results into model.yaml")] = True,
    repeats: Annotated[int, typer.Option(min=0, help="timed batch-1 runs per target for the latency")] = 200,
) -> None:
    """Run the golden vectors on each target and check numeric parity within the model's tolerance.

    GPU runs only where onnxruntime-gpu's TensorRT or CUDA provider initialises; otherwise it is reported
    `not-run` (never `pass`). Exits 1 when any target fails.
    """
    from reconciler.app.modelops import ModelSourceError, ModelYamlError, check_compat
    from reconciler.core.modelops import ManifestError, overall, parse_targets, render_table

    try:
        wanted = parse_targets(targets)
        run = check_compat(model_dir, wanted, version=version, record=record, repeats=repeats)
    except (ValueError, ModelSourceError, ManifestError, ModelYamlError) as error:
        raise _bad_input(error) from error
    typer.echo(
        f"{run.build.source.name} {run.build.manifest.digest} (atol {run.tolerance.atol:g}, rtol {run.tolerance.rtol:g})"
    )
    typer.echo(render_table(run.results))
    if run.recorded_version:
        typer.echo(f"recorded in {run.build.source.model_yaml} (version {run.recorded_version})")
    elif record:
        typer.echo("not recorded in model.yaml: no version has this digest (push adds it with these results)")
    if overall(run.results) == "fail":
        raise typer.Exit(EXIT_ERROR)


@model_app.command("push")
def push_command(
    model_dir: ModelDir,
    *,
    version: Annotated[str, typer.Option(help="the version to publish, e.g. 1.3.0 (the OCI tag)")],
    registry: Annotated[
        list[str] | None,
        typer.Option(
            help="HOST, HOST:PORT or HOST:PORT/PATH to push to instead of fleet.yaml's region registries (repeatable)"
        ),
    ] = None,
    plain_http: Annotated[
        bool | None, typer.Option(help="use HTTP instead of HTTPS (default: only for loopback hosts)")
    ] = None,
    fleet: Annotated[Path | None, typer.Option(help="fleet.yaml (default: <repo>/fleet/fleet.yaml)")] = None,
    revision: Annotated[str | None, typer.Option(help="git revision for the annotations")] = None,
    record: Annotated[bool, typer.Option(help="record the artifact in model.yaml")] = True,
    summary: Annotated[
        Path | None, typer.Option(help="write a Markdown summary (the body of the pull request) to this file")
    ] = None,
    signing_key: Annotated[
        Path | None,
        typer.Option(
            help="sign with this cosign key file (cosign generate-key-pair's cosign.key, password in "
            "COSIGN_PASSWORD; or a PKCS#8/EC PEM)"
        ),
    ] = None,
    signing_key_env: Annotated[
        str | None, typer.Option(help="sign with the key whose PEM text is in this environment variable")
    ] = None,
) -> None:
    """Push the artifact as an OCI artifact to each region's registry, sign it (cosign's format) when given a
    key, and record its digest in model.yaml."""
    from reconciler.app.modelops import (
        ModelSourceError,
        ModelYamlError,
        PushConfigError,
        SigningKeyError,
        push_model_version,
        read_signing_key,
    )
    from reconciler.core.modelops import ManifestError
    from reconciler.shells.registry import RegistryError, parse_registry

    try:
        key = None
        if signing_key is not None or signing_key_env is not None:
            key = read_signing_key(signing_key, signing_key_env)
        locations = tuple(parse_registry(r, plain_http=plain_http) for r in registry or ())
        outcome = push_model_version(
            model_dir,
            version,
            registries=locations or None,
            fleet_yaml=fleet,
            plain_http=plain_http,
            revision=revision,
            record=record,
            signing_key=key,
        )
    except RegistryError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(EXIT_ERROR) from error
    except (ValueError, ModelSourceError, ManifestError, ModelYamlError, PushConfigError, SigningKeyError) as error:
        raise _bad_input(error) from error
    for pushed in outcome.pushed:
        typer.echo(f"pushed {pushed.ref} manifest {pushed.manifest_digest}")
    for signed in outcome.signed:
        state = "signed" if signed.written else "already signed by this key"
        typer.echo(f"{state}: {signed.pushed.registry}/{signed.pushed.repository}:{signed.signature_tag}")
    if outcome.model_yaml:
        typer.echo(f"recorded in {outcome.model_yaml}")
    if summary is not None:
        summary.write_text(outcome.summary_markdown(), encoding="utf-8")
    typer.echo(outcome.digest)


def register(app: typer.Typer) -> None:
    app.add_typer(model_app)
