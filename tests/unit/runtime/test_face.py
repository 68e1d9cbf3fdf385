"""The package face (runtime/__init__.py): every config model in runtime.config is named `...Config` and is
exported from `runtime` as the same object, so importers (the reconciler's renderer) need no aliases; names the
face does not export are an AttributeError."""

from __future__ import annotations

import inspect

import pytest
from pydantic import BaseModel

import runtime
from runtime import config

pytestmark = pytest.mark.unit


def test_config_models_end_in_config_and_are_on_the_face() -> None:
    models = {
        name
        for name, value in vars(config).items()
        if inspect.isclass(value) and issubclass(value, BaseModel) and value.__module__ == config.__name__
    }
    public = {name for name in models if not name.startswith("_")}
    assert public, "runtime.config defines no config models"
    assert sorted(n for n in public if not n.endswith("Config")) == []
    assert public <= set(runtime.__all__)
    for name in runtime.__all__:
        assert getattr(runtime, name) is getattr(config, name)


def test_a_name_not_on_the_face_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'WindowSpec'"):
        _ = runtime.WindowSpec  # the name before the models got their suffix
