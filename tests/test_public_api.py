"""``__all__`` of the public packages is complete and every name in it is importable."""

from __future__ import annotations

import importlib
import inspect
import types

import pytest

import botkit
import botkit.client
import botkit.client.errors
import botkit.model

PACKAGES = [botkit, botkit.client]


def public_names(module: types.ModuleType) -> set[str]:
    """Names a user can see on the package: not private, not a submodule, not ``annotations``."""
    return {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and name != "annotations"
    }


@pytest.mark.parametrize("module", PACKAGES, ids=lambda m: m.__name__)
def test_all_is_complete(module: types.ModuleType) -> None:
    exported = set(module.__all__)
    assert public_names(module) <= exported, (
        f"public but not in __all__: {public_names(module) - exported}"
    )


@pytest.mark.parametrize("module", PACKAGES, ids=lambda m: m.__name__)
def test_every_exported_name_is_importable(module: types.ModuleType) -> None:
    assert len(module.__all__) == len(set(module.__all__)), "duplicates in __all__"
    fresh = importlib.import_module(module.__name__)
    for name in module.__all__:
        assert hasattr(fresh, name), name
    namespace: dict[str, object] = {}
    exec(f"from {module.__name__} import *", namespace)
    assert set(module.__all__) <= set(namespace)


def test_client_exports_the_names_the_issue_pins() -> None:
    for name in (
        "ButtercoinClient",
        "BaseButtercoinClientError",
        "ButtercoinApiError",
        "InvalidEnvironmentError",
    ):
        assert name in botkit.client.__all__


def test_client_exports_every_error_class() -> None:
    errors = {
        name
        for name, value in vars(botkit.client.errors).items()
        if inspect.isclass(value) and issubclass(value, botkit.client.BaseButtercoinClientError)
    }
    assert errors <= set(botkit.client.__all__)
    for name in errors:
        assert issubclass(getattr(botkit.client, name), botkit.client.BaseButtercoinClientError)


def test_botkit_exports_every_public_model_type_and_helper() -> None:
    defined_here = {
        name
        for name, value in vars(botkit.model).items()
        if not name.startswith("_")
        and (inspect.isclass(value) or inspect.isfunction(value))
        and getattr(value, "__module__", None) == "botkit.model"
    }
    assert defined_here <= set(botkit.__all__), defined_here - set(botkit.__all__)


def test_botkit_exports_typed_parameters() -> None:
    from botkit.strategy.params import Param, Params, param

    assert (botkit.param, botkit.Param, botkit.Params) == (param, Param, Params)
    assert {"param", "Param", "Params"} <= set(botkit.__all__)
