"""Model artifact operations behind `edgeops model ...`: build, compat matrix, push, and the model.yaml edits."""

from reconciler.app.modelops.build import build_model, version_recipe
from reconciler.app.modelops.compat import check_compat
from reconciler.app.modelops.model_yaml import ModelYamlError
from reconciler.app.modelops.push import PushConfigError, push_model_version
from reconciler.app.modelops.sign import SignedArtifact, SigningKey, read_signing_key, sign_pushed
from reconciler.app.modelops.source import ModelSourceError, build_bytes, load_model_source
from reconciler.core.modelops import SigningKeyError

__all__ = [
    "ModelSourceError",
    "ModelYamlError",
    "PushConfigError",
    "SignedArtifact",
    "SigningKey",
    "SigningKeyError",
    "build_bytes",
    "build_model",
    "check_compat",
    "load_model_source",
    "push_model_version",
    "read_signing_key",
    "sign_pushed",
    "version_recipe",
]
