"""Session options: parsed once, from a dict and/or keyword arguments, into a frozen dataclass.

:func:`merge_fields` is the one place where "a dict, keyword arguments, or both" is handled; run
options and :func:`ortsession.configure` use it too, so the same mistake gets the same message
wherever it is made (the Lua adapter passes its tables through the same functions).

:func:`parse_session_options` checks every field — type, range, enum value, CoreML consistency —
and returns a :class:`SessionOptions`. Nothing reaches ONNX Runtime before that succeeds.
"""

from __future__ import annotations

import dataclasses
import difflib
import numbers
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType
from typing import Any, Final, TypeVar

import numpy as np

from ._coreml import ComputeUnits, coreml_field_names, resolve_coreml_options
from ._custom_ops import CustomOpLibrary
from ._errors import OptionError
from ._providers import CPU, Provider, resolve_providers, short_name

__all__ = [
    "DimensionBy",
    "ExecutionMode",
    "FreeDimensionOverride",
    "GraphOptimizationLevel",
    "SessionOptions",
    "merge_fields",
    "option_string",
    "parse_session_options",
    "unknown_field",
]

_WHAT: Final = "session option"


def merge_fields(
    opts: Mapping[str, Any] | None, fields: Mapping[str, Any], *, what: str
) -> dict[str, Any]:
    """Merge an options dict and keyword arguments into one dict.

    Args:
        opts: the options given as one mapping (the reference's table), or ``None``.
        fields: the options given as keyword arguments.
        what: what the options are, for messages (``"session option"``, ``"run option"``…).

    Returns:
        A new dict holding both.

    Raises:
        OptionError: ``opts`` is not a mapping, a name is not a string, or the same name is given
            both in ``opts`` and as a keyword argument.
    """
    if opts is None:
        merged: dict[str, Any] = {}
    elif isinstance(opts, Mapping):
        merged = dict(opts)
    else:
        raise OptionError(
            f"{what}s: expected a dict (or keyword arguments), got {opts!r} ({type(opts).__name__})"
        )
    for name in merged:
        if not isinstance(name, str):
            raise OptionError(f"{what} names must be strings, got {name!r} ({type(name).__name__})")
    for name, value in fields.items():
        if name in merged:
            raise OptionError(
                f"{what} {name!r} is given twice: in the options dict and as a keyword argument"
            )
        merged[name] = value
    return merged


def unknown_field(what: str, name: str, accepted: Iterable[str]) -> OptionError:
    """Return the error for an unknown option ``name``, suggesting the closest accepted one."""
    names = sorted(accepted)
    close = difflib.get_close_matches(name, names, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return OptionError(f"unknown {what} {name!r}{hint}; accepted: {', '.join(names)}")


def option_string(what: str, value: object) -> str:
    """Stringify a provider/EP option value the way ORT expects it.

    Strings and paths pass through, ints and floats use ``str()``, and bools become ``"1"`` or
    ``"0"`` (the spelling every ORT provider parses).

    Raises:
        OptionError: ``value`` is of another type (``what`` names it in the message).
    """
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (str, int, float)):
        return str(value)
    if isinstance(value, os.PathLike):
        path = os.fspath(value)
        if isinstance(path, str):
            return path
    raise OptionError(
        f"{what}: expected a str, int, float, bool or path, got {value!r} ({type(value).__name__})"
    )


class _KeyedEnum(Enum):
    """An enum whose members carry our option value (``key``) and ORT's counterpart (``ort``)."""

    def __init__(self, key: str, ort: str) -> None:
        self.key: Final = key
        self.ort: Final = ort

    def __repr__(self) -> str:
        return f"<{type(self).__name__}.{self.name}: {self.key!r}>"


class GraphOptimizationLevel(_KeyedEnum):
    """``graph_optimization_level`` values; ``ort`` is ORT's ``GraphOptimizationLevel`` member."""

    DISABLE = ("disable", "ORT_DISABLE_ALL")
    BASIC = ("basic", "ORT_ENABLE_BASIC")
    EXTENDED = ("extended", "ORT_ENABLE_EXTENDED")
    ALL = ("all", "ORT_ENABLE_ALL")


class ExecutionMode(_KeyedEnum):
    """``execution_mode`` values; ``ort`` is ORT's ``ExecutionMode`` member."""

    SEQUENTIAL = ("sequential", "ORT_SEQUENTIAL")
    PARALLEL = ("parallel", "ORT_PARALLEL")


class DimensionBy(_KeyedEnum):
    """How a free dimension override finds its dimension; ``ort`` is the ORT method to call."""

    NAME = ("name", "add_free_dimension_override_by_name")
    DENOTATION = ("denotation", "add_free_dimension_override_by_denotation")


@dataclass(frozen=True)
class FreeDimensionOverride:
    """One entry of ``free_dimension_overrides``: fix a symbolic dimension to a value.

    Attributes:
        by: whether ``key`` is a dimension's symbolic name or its denotation.
        key: the dimension name (e.g. ``"batch"``) or denotation (e.g. ``"DATA_BATCH"``).
        value: the fixed size, an int >= 0.
    """

    by: DimensionBy
    key: str
    value: int


def _empty_mapping() -> Mapping[str, Any]:
    return MappingProxyType({})


@dataclass(frozen=True)
class SessionOptions:
    """Every session option of the reference, checked; build one with :func:`parse_session_options`.

    Fields hold parsed values: providers as ORT long names, enums for closed sets, absolute
    paths for custom-op libraries, read-only mappings for dicts.
    """

    providers: tuple[str, ...] = (CPU,)
    """Execution providers as ORT long names, first preferred (option ``providers`` or
    ``provider``: a name or a list of names, any case, aliases accepted). Default: CPU only."""

    fallback_to_cpu: bool = True
    """Create the session on CPU when a provider is missing or fails to start. Default ``True``."""

    intra_op_num_threads: int = 0
    """Threads used inside one operator (int >= 0; 0 lets ORT choose). Default ``0``."""

    inter_op_num_threads: int = 0
    """Threads running operators in parallel (int >= 0; 0 lets ORT choose; only used with
    ``execution_mode="parallel"``). Default ``0``."""

    log_id: str = ""
    """Session log id, shown in ORT's log lines (str). Default ``""``: the ``log_id`` given to
    :func:`ortsession.configure`, if any."""

    session_log_severity_level: int | None = None
    """Session log severity, 0 verbose, 1 info, 2 warning, 3 error, 4 fatal. Default ``None``:
    the process-wide level (``configure(log_severity_level=...)``)."""

    session_log_verbosity_level: int = 0
    """Verbosity of verbose (severity 0) log messages (int >= 0; needs a debug build of ORT).
    Default ``0``."""

    optimized_model_path: str | None = None
    """Write the optimized model to this path (str or os.PathLike). Default ``None`` (no file)."""

    profile_file_prefix: str | None = None
    """Turn profiling on; the JSON profile file name starts with this prefix (str or
    os.PathLike). Default ``None`` (profiling off)."""

    free_dimension_overrides: tuple[FreeDimensionOverride, ...] = ()
    """Fix symbolic dimensions: a list of ``{"by": "name"|"denotation", "key": str,
    "value": int >= 0}``. Default: none."""

    config_entries: Mapping[str, str] = field(default_factory=_empty_mapping)
    """ORT session config entries (``dict[str, str]``, e.g.
    ``{"session.intra_op.allow_spinning": "0"}``). Default: none."""

    graph_optimization_level: GraphOptimizationLevel = GraphOptimizationLevel.ALL
    """``"disable"``, ``"basic"``, ``"extended"`` or ``"all"``. Default ``"all"``."""

    execution_mode: ExecutionMode = ExecutionMode.SEQUENTIAL
    """``"sequential"`` or ``"parallel"``. Default ``"sequential"``."""

    deterministic_compute: bool = False
    """Ask kernels for deterministic results (bool). Default ``False``."""

    disable_per_session_threads: bool = False
    """Run on the process-wide thread pools instead of the session's own (bool; needs
    ``configure(use_global_thread_pools=True)``). Default ``False``."""

    enable_cpu_mem_arena: bool = True
    """Use ORT's arena allocator for CPU memory (bool). Default ``True``."""

    enable_mem_pattern: bool = True
    """Pre-plan memory from the first run's allocation pattern (bool). Default ``True``."""

    custom_op_libraries: tuple[str, ...] = ()
    """Custom-op libraries to register, as absolute paths (option value: a path, a
    :class:`~ortsession.CustomOpLibrary` handle, or a list mixing both). Default: none."""

    coreml_compute_units: str | None = None
    """CoreML compute units: ``"all"``, ``"cpu_only"``, ``"cpu_and_gpu"`` or
    ``"cpu_and_neural_engine"`` (aliases ``ALL``, ``CPUOnly``, ``CPUAndGPU``,
    ``CPUAndNeuralEngine``, ``MLComputeUnits…`` accepted, any case). Default ``None`` (``ALL``)."""

    coreml_create_mlprogram: bool | None = None
    """CoreML: build an ML Program instead of a NeuralNetwork model. Default ``None`` (no)."""

    coreml_require_static_input_shapes: bool | None = None
    """CoreML: only take nodes whose inputs have static shapes. Default ``None`` (no)."""

    coreml_enable_on_subgraph: bool | None = None
    """CoreML: also run on control-flow subgraphs (Loop, Scan, If). Default ``None`` (no)."""

    coreml_flags: int | None = None
    """Legacy CoreML bit mask of ORT's ``COREML_FLAG_*`` values (0x001 CPU only, 0x002 subgraphs,
    0x004 ANE devices only, 0x008 static shapes, 0x010 ML Program, 0x020 CPU and GPU).
    Default ``None``."""

    coreml_use_cpu_only: bool | None = None
    """Legacy CoreML: compute units ``CPUOnly``. Default ``None``."""

    coreml_use_cpu_and_gpu: bool | None = None
    """Legacy CoreML: compute units ``CPUAndGPU``. Default ``None``."""

    coreml_only_enable_device_with_ane: bool | None = None
    """Legacy CoreML: compute units ``CPUAndNeuralEngine``. Default ``None``."""

    provider_options: Mapping[str, Mapping[str, str]] = field(default_factory=_empty_mapping)
    """ORT provider options by provider (ORT long name) → {key: value}, values stringified (bools
    become ``"1"``/``"0"``). Each provider named must be in ``providers``. Default: none."""

    external_initializers: Mapping[str, Any] = field(default_factory=_empty_mapping)
    """Initializers given from memory at session creation: ``{initializer name: Tensor}``
    (option value: ``Tensor``, numpy array or any ``__dlpack__``/``__array__`` array). Each
    replaces the model's initializer of that name, which must be stored as external data (a
    model saved with ``save_as_external_data``; ORT refuses to replace inline initializers) with
    the same element type and shape; its file is then not needed. The memory is shared, not
    copied, and kept alive by the session; sub-byte types (int4 …) and strings are refused.
    Needs ORT's ``SessionOptions.add_external_initializers``. Default: none."""

    external_data: Mapping[str, Any] = field(default_factory=_empty_mapping)
    """External data files given from memory: ``{file name as the model's external_data
    location says (e.g. "weights.bin"): bytes-like}`` (``bytes``, ``bytearray``, ``memoryview``,
    a uint8 numpy array), for a model saved with external data and loaded without its files
    (from bytes, or from a folder lacking them). Needs ORT's
    ``SessionOptions.add_external_initializers_from_files_in_memory``. Default: none."""

    def coreml_fields(self) -> dict[str, object]:
        """Return the CoreML fields that were set (not ``None``), by name."""
        return {name: value for name in _COREML_FIELDS
                if (value := getattr(self, name)) is not None}

    def coreml_options(self) -> dict[str, str]:
        """Return ORT's CoreML provider options resolved from the CoreML fields.

        See :func:`ortsession.resolve_coreml_options`; ``provider_options`` given for CoreML are
        merged in.
        """
        return resolve_coreml_options(self.coreml_fields(),
                                      self.provider_options.get(Provider.COREML.long_name))


_COREML_FIELDS: Final = coreml_field_names()

# ---------------------------------------------------------------------------------------------
# Validators: one per field, each (field name, raw value) -> parsed value.


def _type_error(name: str, value: object, expected: str, what: str = _WHAT) -> OptionError:
    return OptionError(
        f"{what} {name!r}: expected {expected}, got {value!r} ({type(value).__name__})"
    )


def _bool(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise _type_error(name, value, "a bool (True or False)")
    return value


MAX_THREADS: Final = 1024
"""Upper bound of the thread-count options: ORT would try to start every thread asked for."""
INT32_MAX: Final = 2**31 - 1
"""Upper bound of ORT's ``int`` fields (log verbosity, CoreML flags)."""
INT64_MAX: Final = 2**63 - 1
"""Upper bound of a free dimension override (ORT's ``int64_t``)."""


def int_range(low: int, high: int | None = None, *,
              what: str = _WHAT) -> Callable[[str, object], int]:
    """Return a validator of integer options in ``[low, high]`` (``bool`` is refused).

    ``what`` starts its messages (``"session option"``, ``"configure option"``).
    """
    accepted = f"an integer from {low} to {high}" if high is not None else f"an integer >= {low}"

    def check(name: str, value: object) -> int:
        # numbers.Integral: int and numpy's integer scalars (np.int64(2)); not bool / np.bool_
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise _type_error(name, value, accepted, what)
        value = int(value)
        if value < low or (high is not None and value > high):
            raise OptionError(f"{what} {name!r}: expected {accepted}, got {value!r}")
        return value

    return check


def _no_nul(name: str, value: str) -> str:
    # ORT takes C strings: everything after a NUL byte would be dropped silently.
    if "\x00" in value:
        raise OptionError(f"{_WHAT} {name!r}: must not contain a NUL character, got {value!r}")
    return value


def _str(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise _type_error(name, value, "a string")
    return _no_nul(name, value)


def _path(name: str, value: object) -> str:
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str):
        raise _type_error(name, value, "a path (str or os.PathLike)")
    if not value:
        raise OptionError(f"{_WHAT} {name!r}: expected a non-empty path, got ''")
    return _no_nul(name, value)


_E = TypeVar("_E", bound=_KeyedEnum)


def _enum_member(name: str, value: object, enum: type[_E]) -> _E:
    if isinstance(value, enum):
        return value
    if isinstance(value, str):
        for member in enum:
            if member.key == value.strip().lower():
                return member
    accepted = ", ".join(repr(member.key) for member in enum)
    raise _type_error(name, value, f"one of {accepted}")


def _enum(enum: type[_E]) -> Callable[[str, object], _E]:
    def check(name: str, value: object) -> _E:
        return _enum_member(name, value, enum)

    return check


_OVERRIDE_KEYS: Final = ("by", "key", "value")
_OVERRIDE_SHAPE: Final = '{"by": "name"|"denotation", "key": str, "value": int >= 0}'


def _free_dimension_overrides(name: str, value: object) -> tuple[FreeDimensionOverride, ...]:
    parsed: list[FreeDimensionOverride] = []
    if not isinstance(value, (list, tuple)):
        raise _type_error(name, value, f"a list of {_OVERRIDE_SHAPE}")
    for index, item in enumerate(value):
        where = f"{name}[{index}]"
        if isinstance(item, FreeDimensionOverride):
            parsed.append(item)
            continue
        if not isinstance(item, Mapping):
            raise _type_error(where, item, _OVERRIDE_SHAPE)
        unknown = [key for key in item if key not in _OVERRIDE_KEYS]
        missing = [key for key in _OVERRIDE_KEYS if key not in item]
        if unknown or missing:
            problems = [f"unknown key {key!r}" for key in unknown]
            problems += [f"missing {key!r}" for key in missing]
            raise OptionError(f"{_WHAT} {where!r}: {', '.join(problems)}; "
                              f"expected {_OVERRIDE_SHAPE}")
        dim_key = item["key"]
        if not isinstance(dim_key, str) or not dim_key:
            raise _type_error(f"{where}.key", dim_key, "a non-empty string")
        parsed.append(FreeDimensionOverride(
            by=_enum_member(f"{where}.by", item["by"], DimensionBy),
            key=dim_key,
            value=int_range(0, INT64_MAX)(f"{where}.value", item["value"]),
        ))
    return tuple(parsed)


def _config_entries(name: str, value: object) -> Mapping[str, str]:
    if not isinstance(value, Mapping):
        raise _type_error(name, value, "a dict of str to str")
    entries: dict[str, str] = {}
    for key, entry in value.items():
        if not isinstance(key, str) or not key:
            raise _type_error(f"{name} key", key, "a non-empty string")
        if not isinstance(entry, str):
            raise _type_error(f"{name}[{key!r}]", entry, "a string")
        entries[_no_nul(f"{name} key", key)] = _no_nul(f"{name}[{key!r}]", entry)
    return MappingProxyType(entries)


def _library_path(name: str, value: object) -> str:
    if isinstance(value, CustomOpLibrary):
        return value.path
    return os.path.abspath(_path(name, value))


def _custom_op_libraries(name: str, value: object) -> tuple[str, ...]:
    items = value if isinstance(value, (list, tuple)) else [value]
    paths: list[str] = []
    for index, item in enumerate(items):
        where = f"{name}[{index}]" if items is value else name
        path = _library_path(where, item)
        if path not in paths:
            paths.append(path)
    return tuple(paths)


def _provider_options(name: str, value: object) -> Mapping[str, Mapping[str, str]]:
    if not isinstance(value, Mapping):
        raise _type_error(name, value, "a dict of provider name to a dict of options")
    result: dict[str, Mapping[str, str]] = {}
    for provider, options in value.items():
        if not isinstance(provider, str):
            raise _type_error(f"{name} key", provider, "a provider name")
        (long_name,) = resolve_providers(provider, field=name)
        where = f"{name}[{provider!r}]"
        if not isinstance(options, Mapping):
            raise _type_error(where, options, "a dict of option name to value")
        strings: dict[str, str] = dict(result.get(long_name, {}))
        for key, option in options.items():
            if not isinstance(key, str) or not key:
                raise _type_error(f"{where} key", key, "a non-empty string")
            strings[key] = option_string(f"{_WHAT} {where}[{key!r}]", option)
        result[long_name] = MappingProxyType(strings)
    return MappingProxyType(result)


def _external_key(name: str, key: object, what: str) -> str:
    if not isinstance(key, str) or not key:
        raise _type_error(f"{name} key", key, what)
    return _no_nul(f"{name} key", key)


def _external_initializers(name: str, value: object) -> Mapping[str, Any]:
    from ._arraylike import foreign_array, is_foreign_array
    from ._errors import OrtError
    from ._tensor import Tensor

    if not isinstance(value, Mapping):
        raise _type_error(name, value, "a dict of initializer name to Tensor or array")
    result: dict[str, Any] = {}
    for raw_key, item in value.items():
        where = f"{name}[{raw_key!r}]"
        key = _external_key(name, raw_key, "a non-empty initializer name")
        try:
            data = foreign_array(item, f"{_WHAT} {where!r}") if is_foreign_array(item) else item
            if isinstance(data, Tensor):
                tensor = data
            elif isinstance(data, np.ndarray):
                tensor = Tensor(data)
            else:
                raise _type_error(where, item, "a Tensor or an array")
        except OptionError:
            raise
        except OrtError as exc:  # TensorError, ElementTypeError (a dtype ONNX lacks)
            raise OptionError(f"{_WHAT} {where!r}: {exc}") from None
        if (tensor.data_type == "string" or tensor.device != "cpu"
                or tensor.element_type.is_packed):
            raise OptionError(f"{_WHAT} {where!r}: expected a numeric or bool host tensor of 8 "
                              f"bits or more per element, got a {tensor.data_type} tensor on "
                              f"{tensor.device} (give sub-byte weights through "
                              f"'external_data')")
        result[key] = tensor
    return MappingProxyType(result)


def _external_data(name: str, value: object) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _type_error(name, value, "a dict of file name to bytes")
    result: dict[str, Any] = {}
    for raw_key, item in value.items():
        where = f"{name}[{raw_key!r}]"
        key = _external_key(name, raw_key, "a non-empty file name")
        if isinstance(item, (bytes, bytearray, memoryview, np.ndarray)):
            try:
                view = memoryview(item).cast("B")  # type: ignore[arg-type]
            except (TypeError, ValueError) as exc:  # a strided or non-byte array
                raise OptionError(f"{_WHAT} {where!r}: expected contiguous bytes: {exc}") from None
            result[key] = view
        else:
            raise _type_error(where, item, "bytes, bytearray, memoryview or a uint8 array")
    return MappingProxyType(result)


def _coreml_compute_units(name: str, value: object) -> str:
    return ComputeUnits.parse(value, name).key


_VALIDATORS: Final[dict[str, Callable[[str, object], object]]] = {
    "fallback_to_cpu": _bool,
    "intra_op_num_threads": int_range(0, MAX_THREADS),
    "inter_op_num_threads": int_range(0, MAX_THREADS),
    "log_id": _str,
    "session_log_severity_level": int_range(0, 4),
    "session_log_verbosity_level": int_range(0, INT32_MAX),
    "optimized_model_path": _path,
    "profile_file_prefix": _path,
    "free_dimension_overrides": _free_dimension_overrides,
    "config_entries": _config_entries,
    "graph_optimization_level": _enum(GraphOptimizationLevel),
    "execution_mode": _enum(ExecutionMode),
    "deterministic_compute": _bool,
    "disable_per_session_threads": _bool,
    "enable_cpu_mem_arena": _bool,
    "enable_mem_pattern": _bool,
    "custom_op_libraries": _custom_op_libraries,
    "coreml_compute_units": _coreml_compute_units,
    "coreml_create_mlprogram": _bool,
    "coreml_require_static_input_shapes": _bool,
    "coreml_enable_on_subgraph": _bool,
    "coreml_flags": int_range(0, INT32_MAX),
    "coreml_use_cpu_only": _bool,
    "coreml_use_cpu_and_gpu": _bool,
    "coreml_only_enable_device_with_ane": _bool,
    "provider_options": _provider_options,
    "external_initializers": _external_initializers,
    "external_data": _external_data,
}
_PROVIDER_FIELDS: Final = ("providers", "provider")
_ACCEPTED: Final = (*_PROVIDER_FIELDS, *_VALIDATORS)
_NONE_MEANS_DEFAULT: Final = frozenset(
    f.name for f in dataclasses.fields(SessionOptions) if f.default is None
)


def parse_session_options(
    opts: Mapping[str, Any] | None = None, fields: Mapping[str, Any] | None = None
) -> SessionOptions:
    """Check session options given as a dict and/or keyword arguments and freeze them.

    Args:
        opts: the options as one mapping (the reference's table), or ``None``.
        fields: the options given as keyword arguments.

    Returns:
        The parsed options; fields not given keep their defaults (see :class:`SessionOptions`).

    Raises:
        OptionError: an unknown field (the closest name is suggested), a value of the wrong
            type, out of range or not in its enum (the message names the field, the value and
            what is accepted), ``providers`` and ``provider`` both given, CoreML fields without
            ``"coreml"`` in the providers, conflicting CoreML fields, or ``provider_options`` for
            a provider not in the providers.
    """
    given = merge_fields(opts, fields or {}, what=_WHAT)
    for name in given:
        if name not in _ACCEPTED:
            raise unknown_field(_WHAT, name, _ACCEPTED)
    if all(name in given for name in _PROVIDER_FIELDS):
        raise OptionError(f"{_WHAT}s 'providers' and 'provider' are the same option: give one")
    parsed: dict[str, Any] = {}
    for name, value in given.items():
        if name in _PROVIDER_FIELDS:
            parsed["providers"] = resolve_providers(value, field=name)
        elif value is None and name in _NONE_MEANS_DEFAULT:
            continue
        else:
            parsed[name] = _VALIDATORS[name](name, value)
    options = SessionOptions(**parsed)
    _check_providers(options)
    return options


def _check_providers(options: SessionOptions) -> None:
    coreml = options.coreml_fields()
    if Provider.COREML.long_name not in options.providers:
        if coreml:
            names = ", ".join(map(repr, coreml))
            subject = f"{_WHAT} {names} applies" if len(coreml) == 1 else f"{_WHAT}s {names} apply"
            raise OptionError(
                f"{subject} to the CoreML provider, which is not in providers "
                f"({', '.join(map(short_name, options.providers))}): add 'coreml' to providers"
            )
    else:
        options.coreml_options()
    for long_name in options.provider_options:
        if long_name not in options.providers:
            raise OptionError(
                f"{_WHAT} 'provider_options' has options for {short_name(long_name)!r}, which is "
                f"not in providers ({', '.join(map(short_name, options.providers))})"
            )
