"""The provider table and provider-name resolution (``ortsession._providers``)."""

from __future__ import annotations

import re

import pytest

from ortsession import OptionError, _engine
from ortsession._providers import (
    CPU,
    Provider,
    available_short_names,
    resolve_providers,
    short_name,
)


def test_table_covers_every_provider_ort_knows() -> None:
    long_names = {provider.long_name for provider in Provider}
    missing = [name for name in _engine.all_providers() if name not in long_names]
    assert missing == []


def test_names_are_unique_across_providers() -> None:
    seen: dict[str, Provider] = {}
    for provider in Provider:
        for name in provider.names():
            key = name.lower()
            assert seen.setdefault(key, provider) is provider, f"{name} names two providers"


@pytest.mark.parametrize("provider", list(Provider), ids=lambda p: p.short)
def test_every_name_of_every_provider_resolves(provider: Provider) -> None:
    for name in provider.names():
        for spelling in (name, name.upper(), name.lower(), f"  {name} "):
            assert resolve_providers(spelling) == (provider.long_name,)
    assert short_name(provider.long_name) == provider.short


@pytest.mark.parametrize("value", [None, [], ()])
def test_nothing_means_cpu(value: object) -> None:
    assert resolve_providers(value) == (CPU,)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("cpu", ("CPUExecutionProvider",)),
        ("CPU", ("CPUExecutionProvider",)),
        ("CPUExecutionProvider", ("CPUExecutionProvider",)),
        ("CoreMLExecutionProvider", ("CoreMLExecutionProvider",)),
        (["coreml", "cpu"], ("CoreMLExecutionProvider", "CPUExecutionProvider")),
        (("cpu", "coreml"), ("CPUExecutionProvider", "CoreMLExecutionProvider")),
        (["cuda", "CUDAExecutionProvider", "cpu", "CPU"],
         ("CUDAExecutionProvider", "CPUExecutionProvider")),
        ("trt", ("TensorrtExecutionProvider",)),
        ("directml", ("DmlExecutionProvider",)),
        ("onednn", ("DnnlExecutionProvider",)),
        (["webgpu", "xnnpack", "azure"],
         ("WebGpuExecutionProvider", "XnnpackExecutionProvider", "AzureExecutionProvider")),
    ],
)
def test_resolution_keeps_preference_order(value: object, expected: tuple[str, ...]) -> None:
    assert resolve_providers(value) == expected


def test_unknown_provider_suggests_and_lists_known_names() -> None:
    with pytest.raises(OptionError) as info:
        resolve_providers(["cpu", "cudaa"])
    message = str(info.value)
    assert "'cudaa'" in message
    assert "did you mean 'cuda'?" in message
    for provider in Provider:
        assert provider.short in message
    assert "'providers'" in message


def test_unknown_provider_without_close_match() -> None:
    with pytest.raises(OptionError, match="unknown execution provider 'zzzzzz'") as info:
        resolve_providers("zzzzzz", field="provider")
    assert "did you mean" not in str(info.value)
    assert str(info.value).startswith("'provider'")


@pytest.mark.parametrize("value", [1, 1.5, True, {"cpu": 1}, {"cpu"}, b"cpu"])
def test_wrong_type_is_an_option_error(value: object) -> None:
    with pytest.raises(OptionError, match=re.escape(repr(value))):
        resolve_providers(value)


@pytest.mark.parametrize("item", [1, None, b"cpu", ["cpu"]])
def test_wrong_item_type_names_its_index(item: object) -> None:
    with pytest.raises(OptionError, match=r"item 1 must be a provider name"):
        resolve_providers(["cpu", item])


def test_short_name_of_a_provider_newer_than_the_table() -> None:
    assert short_name("FancyNewExecutionProvider") == "fancynew"
    assert short_name("Odd") == "odd"


def test_available_short_names_match_the_build() -> None:
    names = available_short_names()
    assert "cpu" in names
    assert names == [short_name(name) for name in _engine.available_providers()]
    known = {provider.short for provider in Provider}
    assert set(names) <= known
