"""Does a built artifact's IO signature match the one model.yaml promises? The runtime builds its input vector
from model.yaml's window, so an artifact with another width or dtype would fail (or silently misread) at the edge.
"""

from __future__ import annotations

from collections.abc import Sequence

from reconciler.core.modelops.manifest import ArtifactManifest, TensorSignature
from reconciler.core.spec import Signature, Tensor


def _dims_match(declared: int | str, built: int | str) -> bool:
    # A symbolic or -1 dimension in model.yaml accepts any symbolic one in the artifact; fixed sizes must agree.
    if isinstance(declared, int) and declared != -1:
        return declared == built
    return not isinstance(built, int) or built == -1


def _compare(kind: str, declared: Sequence[Tensor], built: Sequence[TensorSignature]) -> list[str]:
    problems: list[str] = []
    declared_names = [t.name for t in declared]
    built_names = [t.name for t in built]
    if declared_names != built_names:
        return [f"{kind} are {built_names} in the artifact, {declared_names} in model.yaml"]
    for want, got in zip(declared, built, strict=True):
        if want.dtype != got.dtype:
            problems.append(f"{kind[:-1]} {want.name!r}: dtype {got.dtype} in the artifact, {want.dtype} in model.yaml")
        if len(want.shape) != len(got.shape) or not all(
            _dims_match(d, b) for d, b in zip(want.shape, got.shape, strict=True)
        ):
            problems.append(
                f"{kind[:-1]} {want.name!r}: shape {list(got.shape)} in the artifact, {list(want.shape)} in model.yaml"
            )
    return problems


def signature_mismatches(declared: Signature, manifest: ArtifactManifest) -> list[str]:
    """Human-readable differences; empty when the artifact fits model.yaml's signature."""
    return _compare("inputs", declared.inputs, manifest.inputs) + _compare(
        "outputs", declared.outputs, manifest.outputs
    )
