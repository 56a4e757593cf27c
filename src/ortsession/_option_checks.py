"""Checks of the session options whose values are lists or tables of values.

``free_dimension_overrides``, ``custom_op_libraries``, ``provider_options``,
``external_initializers`` and ``external_data``: each check (see :mod:`ortsession._fields`) walks
the list or table and names the entry that is wrong (``free_dimension_overrides[1].value``,
``provider_options['cpu']['a']``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

import numpy as np

from ._custom_ops import CustomOpLibrary
from ._enums import DimensionBy
from ._errors import OptionError, OrtError
from ._fields import INT64_MAX, Subject, choice, integer, option_string, path, text
from ._providers import resolve_providers

__all__ = [
    "FreeDimensionOverride",
    "custom_op_libraries",
    "external_data",
    "external_initializers",
    "free_dimension_overrides",
    "provider_options",
    "providers",
]


@dataclass(frozen=True)
class FreeDimensionOverride:
    """One entry of the session option ``free_dimension_overrides``: fix a symbolic dimension.

    Given as ``{"by": "name"|"denotation", "key": str, "value": int >= 0}`` (or as this class);
    ``session.options.free_dimension_overrides`` holds these.

    Attributes:
        by: whether ``key`` is a dimension's symbolic name or its denotation.
        key: the dimension name (e.g. ``"batch"``) or denotation (e.g. ``"DATA_BATCH"``).
        value: the fixed size, an int >= 0.
    """

    by: DimensionBy
    key: str
    value: int


def providers(value: object, subject: Subject) -> tuple[str, ...]:
    """Check ``providers``: a provider name or a list of them; returns ORT long names."""
    return resolve_providers(value, field=subject.name)


_OVERRIDE_KEYS: Final = ("by", "key", "value")
_OVERRIDE_SHAPE: Final = '{"by": "name"|"denotation", "key": str, "value": int >= 0}'
_BY: Final = choice(DimensionBy, DimensionBy.aliases)
_DIMENSION_KEY: Final = text(empty=False)
_DIMENSION_VALUE: Final = integer(0, INT64_MAX)


def free_dimension_overrides(value: object,
                             subject: Subject) -> tuple[FreeDimensionOverride, ...]:
    """Check ``free_dimension_overrides``: a list of ``{"by", "key", "value"}`` entries."""
    if not isinstance(value, (list, tuple)):
        raise subject.expected(f"a list of {_OVERRIDE_SHAPE}", value)
    parsed: list[FreeDimensionOverride] = []
    for index, item in enumerate(value):
        entry = subject.part(f"[{index}]")
        if isinstance(item, FreeDimensionOverride):
            parsed.append(item)
            continue
        if not isinstance(item, Mapping):
            raise entry.expected(_OVERRIDE_SHAPE, item)
        unknown = [key for key in item if key not in _OVERRIDE_KEYS]
        missing = [key for key in _OVERRIDE_KEYS if key not in item]
        if unknown or missing:
            problems = [f"unknown key {key!r}" for key in unknown]
            problems += [f"missing {key!r}" for key in missing]
            raise entry.refuse(f"{', '.join(problems)}; expected {_OVERRIDE_SHAPE}")
        parsed.append(FreeDimensionOverride(
            by=_BY(item["by"], entry.part(".by")),
            key=_DIMENSION_KEY(item["key"], entry.part(".key")),
            value=_DIMENSION_VALUE(item["value"], entry.part(".value")),
        ))
    return tuple(parsed)


def custom_op_libraries(value: object, subject: Subject) -> tuple[str, ...]:
    """Check ``custom_op_libraries``: a path, a :class:`CustomOpLibrary`, or a list of them.

    Returns absolute paths, each once.
    """
    items = value if isinstance(value, (list, tuple)) else [value]
    paths: list[str] = []
    for index, item in enumerate(items):
        if isinstance(item, CustomOpLibrary):
            library = item.path
        else:
            where = subject.part(f"[{index}]") if items is value else subject
            library = os.path.abspath(path()(item, where))
        if library not in paths:
            paths.append(library)
    return tuple(paths)


def provider_options(value: object, subject: Subject) -> Mapping[str, Mapping[str, str]]:
    """Check ``provider_options``: provider name → {option: value}, values stringified."""
    if not isinstance(value, Mapping):
        raise subject.expected("a dict of provider name to a dict of options", value)
    result: dict[str, Mapping[str, str]] = {}
    for provider, options in value.items():
        if not isinstance(provider, str):
            raise subject.part(" key").expected("a provider name", provider)
        (long_name,) = resolve_providers(provider, field=subject.name)
        where = subject.part(f"[{provider!r}]")
        if not isinstance(options, Mapping):
            raise where.expected("a dict of option name to value", options)
        strings: dict[str, str] = dict(result.get(long_name, {}))
        for key, option in options.items():
            if not isinstance(key, str) or not key:
                raise where.part(" key").expected("a non-empty string", key)
            strings[key] = option_string(str(where.part(f"[{key!r}]")), option)
        result[long_name] = MappingProxyType(strings)
    return MappingProxyType(result)


def _external_key(key: object, subject: Subject, what: str) -> str:
    if not isinstance(key, str) or not key:
        raise subject.part(" key").expected(what, key)
    return text()(key, subject.part(" key"))


def external_initializers(value: object, subject: Subject) -> Mapping[str, Any]:
    """Check ``external_initializers``: initializer name → ``Tensor`` or array (8+ bits, host)."""
    from ._arraylike import foreign_array, is_foreign_array
    from ._tensor import Tensor

    if not isinstance(value, Mapping):
        raise subject.expected("a dict of initializer name to Tensor or array", value)
    result: dict[str, Any] = {}
    for raw_key, item in value.items():
        where = subject.part(f"[{raw_key!r}]")
        key = _external_key(raw_key, subject, "a non-empty initializer name")
        try:
            data = foreign_array(item, str(where)) if is_foreign_array(item) else item
            if isinstance(data, Tensor):
                tensor = data
            elif isinstance(data, np.ndarray):
                tensor = Tensor(data)
            else:
                raise where.expected("a Tensor or an array", item)
        except OptionError:
            raise
        except OrtError as exc:  # TensorError, ElementTypeError (a dtype ONNX lacks)
            raise where.refuse(str(exc)) from None
        if (tensor.data_type == "string" or tensor.device != "cpu"
                or tensor.element_type.is_packed):
            raise where.refuse(f"expected a numeric or bool host tensor of 8 bits or more per "
                               f"element, got a {tensor.data_type} tensor on {tensor.device} "
                               f"(give sub-byte weights through 'external_data')")
        result[key] = tensor
    return MappingProxyType(result)


def external_data(value: object, subject: Subject) -> Mapping[str, Any]:
    """Check ``external_data``: file name → contiguous bytes (kept as a ``memoryview``)."""
    if not isinstance(value, Mapping):
        raise subject.expected("a dict of file name to bytes", value)
    result: dict[str, Any] = {}
    for raw_key, item in value.items():
        where = subject.part(f"[{raw_key!r}]")
        key = _external_key(raw_key, subject, "a non-empty file name")
        if not isinstance(item, (bytes, bytearray, memoryview, np.ndarray)):
            raise where.expected("bytes, bytearray, memoryview or a uint8 array", item)
        try:
            result[key] = memoryview(item).cast("B")  # type: ignore[arg-type]
        except (TypeError, ValueError) as exc:  # a strided or non-byte array
            raise where.refuse(f"expected contiguous bytes: {exc}") from None
    return MappingProxyType(result)
