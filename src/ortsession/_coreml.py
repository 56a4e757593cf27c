"""CoreML provider fields: from the reference's new and legacy fields to ORT's provider options.

The reference accepts two generations of CoreML settings and lets them be mixed:

* new fields: ``coreml_compute_units``, ``coreml_create_mlprogram``,
  ``coreml_require_static_input_shapes``, ``coreml_enable_on_subgraph``;
* legacy fields: ``coreml_flags`` (ORT's ``COREML_FLAG_*`` bit mask), ``coreml_use_cpu_only``,
  ``coreml_use_cpu_and_gpu``, ``coreml_only_enable_device_with_ane``.

:func:`resolve_coreml_options` turns any mix into the four provider options of ORT's CoreML
execution provider (``MLComputeUnits``, ``ModelFormat``, ``RequireStaticInputShapes``,
``EnableOnSubgraphs``) and refuses combinations that mean different things. It is a pure
function, so its behaviour is tested on machines without CoreML.

Resolution rules:

* Compute units: ``coreml_compute_units``, each ``coreml_use_*``/``coreml_only_*`` bool set to
  ``True``, and each device bit of ``coreml_flags`` ask for one compute unit (``CPUOnly``,
  ``CPUAndGPU``, ``CPUAndNeuralEngine``); all of them must ask for the same one. A legacy bool set
  to ``False`` refuses its compute unit. Nothing asked → ``ALL``.
* ``coreml_only_enable_device_with_ane=True`` (flag ``COREML_FLAG_ONLY_ENABLE_DEVICE_WITH_ANE``)
  resolves to ``MLComputeUnits=CPUAndNeuralEngine`` — the mapping ORT itself uses between its
  legacy flag and its new option. It therefore conflicts with every other compute unit, ``"all"``
  included: ORT's option holds one value, and keeping one would silently drop the other.
* ``ModelFormat``, ``RequireStaticInputShapes`` and ``EnableOnSubgraphs`` come from their bool
  field and from their bit of ``coreml_flags``; a bool that disagrees with a set bit is a
  conflict. A bit that is *not* set in ``coreml_flags`` states nothing (it is the legacy default),
  so ``coreml_flags=0`` mixes freely with ``coreml_create_mlprogram=True``.
* ORT option values given directly (``provider_options={"coreml": {...}}``) join the same rules:
  ``{"MLComputeUnits": "CPUOnly"}`` with ``coreml_compute_units="all"`` is a conflict.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum, IntFlag
from types import MappingProxyType
from typing import Final, NamedTuple

from ._errors import OptionError
from ._fields import Check, Subject, boolean, choice, merge_fields, parse_fields

__all__ = [
    "COREML_CHECKS",
    "CoreMLFlag",
    "ComputeUnits",
    "coreml_field",
    "coreml_field_names",
    "resolve_coreml_options",
]


class ComputeUnits(Enum):
    """CoreML compute units: our name and the value of ORT's ``MLComputeUnits`` option.

    Attributes:
        key: the name ``ortsession`` prefers (``"all"``, ``"cpu_only"``…).
        ort_value: the value ORT's CoreML provider option ``MLComputeUnits`` takes.
    """

    ALL = ("all", "ALL")
    CPU_ONLY = ("cpu_only", "CPUOnly")
    CPU_AND_GPU = ("cpu_and_gpu", "CPUAndGPU")
    CPU_AND_NEURAL_ENGINE = ("cpu_and_neural_engine", "CPUAndNeuralEngine")

    def __init__(self, key: str, ort_value: str) -> None:
        self.key: Final = key
        self.ort_value: Final = ort_value

    def aliases(self) -> tuple[str, ...]:
        """Return every spelling accepted for this value (matched case-insensitively)."""
        return (self.key, self.ort_value, f"MLComputeUnits{self.ort_value}")


_UNITS_CHOICE: Final = choice(
    ComputeUnits, ComputeUnits.aliases,
    hint=" (or the aliases 'CPUOnly', 'CPUAndGPU', 'CPUAndNeuralEngine', 'ALL', 'MLComputeUnits…')",
)


def _compute_units(value: object, subject: Subject) -> str:
    """Check ``coreml_compute_units``: any alias of :class:`ComputeUnits`; returns its ``key``."""
    return _UNITS_CHOICE(value, subject).key


class CoreMLFlag(IntFlag):
    """ORT's ``COREML_FLAG_*`` bits (``coreml_provider_factory.h``), for ``coreml_flags``."""

    USE_CPU_ONLY = 0x001
    ENABLE_ON_SUBGRAPH = 0x002
    ONLY_ENABLE_DEVICE_WITH_ANE = 0x004
    ONLY_ALLOW_STATIC_INPUT_SHAPES = 0x008
    CREATE_MLPROGRAM = 0x010
    USE_CPU_AND_GPU = 0x020


_ALL_FLAGS: Final = sum(flag.value for flag in CoreMLFlag)

# The tables of CoreML fields: the legacy bool fields and flag bits that each stand for one
# compute-units value, then (in _BOOL_OPTIONS) the other ORT options with their field and bit.
_COMPUTE_UNITS_FIELD: Final = "coreml_compute_units"
_UNITS_KEY: Final = "MLComputeUnits"
_FLAGS_FIELD: Final = "coreml_flags"
_UNIT_FIELDS: Final[dict[str, ComputeUnits]] = {
    "coreml_use_cpu_only": ComputeUnits.CPU_ONLY,
    "coreml_use_cpu_and_gpu": ComputeUnits.CPU_AND_GPU,
    "coreml_only_enable_device_with_ane": ComputeUnits.CPU_AND_NEURAL_ENGINE,
}
_UNIT_FLAGS: Final[dict[CoreMLFlag, ComputeUnits]] = {
    CoreMLFlag.USE_CPU_ONLY: ComputeUnits.CPU_ONLY,
    CoreMLFlag.USE_CPU_AND_GPU: ComputeUnits.CPU_AND_GPU,
    CoreMLFlag.ONLY_ENABLE_DEVICE_WITH_ANE: ComputeUnits.CPU_AND_NEURAL_ENGINE,
}


class _BoolOption(NamedTuple):
    """An ORT CoreML option decided by one bool field and one legacy flag bit."""

    ort_key: str
    field: str
    bit: CoreMLFlag
    values: tuple[str, str]  # the ORT value for False, then for True


_BOOL_OPTIONS: Final = (
    _BoolOption("ModelFormat", "coreml_create_mlprogram", CoreMLFlag.CREATE_MLPROGRAM,
                ("NeuralNetwork", "MLProgram")),
    _BoolOption("RequireStaticInputShapes", "coreml_require_static_input_shapes",
                CoreMLFlag.ONLY_ALLOW_STATIC_INPUT_SHAPES, ("0", "1")),
    _BoolOption("EnableOnSubgraphs", "coreml_enable_on_subgraph", CoreMLFlag.ENABLE_ON_SUBGRAPH,
                ("0", "1")),
)
_WHAT: Final = "CoreML field"
_KNOWN_BITS: Final = ", ".join(f"COREML_FLAG_{flag.name}=0x{flag.value:03x}" for flag in CoreMLFlag)


def _flags(value: object, subject: Subject) -> int:
    """Check ``coreml_flags``: an int made of :class:`CoreMLFlag` bits."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise subject.expected("an integer bit mask of COREML_FLAG_* values", value)
    flags = int(value)
    if flags < 0:
        raise subject.refuse(f"expected a bit mask >= 0, got {flags!r}; "
                             f"accepted bits: {_KNOWN_BITS}")
    if flags & ~_ALL_FLAGS:
        raise subject.refuse(
            f"0x{flags:03x} has bits that are not COREML_FLAG_* values "
            f"(unknown: 0x{flags & ~_ALL_FLAGS:03x}); accepted bits: {_KNOWN_BITS}"
        )
    return flags


COREML_CHECKS: Final[Mapping[str, Check]] = MappingProxyType({
    _COMPUTE_UNITS_FIELD: _compute_units,
    **{option.field: boolean() for option in _BOOL_OPTIONS},
    _FLAGS_FIELD: _flags,
    **{name: boolean() for name in _UNIT_FIELDS},
})
"""The check of each CoreML session option, by name (new fields first, then legacy ones)."""


def coreml_field(value: object, subject: Subject) -> object:
    """Check the CoreML session option ``subject.name`` (one of :data:`COREML_CHECKS`)."""
    return COREML_CHECKS[subject.name](value, subject)


def coreml_field_names() -> tuple[str, ...]:
    """Return the names of every CoreML session option (new fields first, then legacy ones)."""
    return tuple(COREML_CHECKS)


_BY_KEY: Final = {unit.key: unit for unit in ComputeUnits}


@dataclass(frozen=True)
class _Given:
    """The CoreML fields that were given (not ``None``), checked and typed."""

    units: ComputeUnits | None
    flags: int
    bools: dict[str, bool]

    @classmethod
    def parse(cls, fields: Mapping[str, object]) -> _Given:
        if not isinstance(fields, Mapping):
            raise OptionError(f"{_WHAT}s: expected a mapping of field name to value, "
                              f"got {fields!r} ({type(fields).__name__})")
        parsed = parse_fields(COREML_CHECKS, merge_fields(fields, {}, what=_WHAT), what=_WHAT)
        units = parsed.pop(_COMPUTE_UNITS_FIELD, None)
        return cls(None if units is None else _BY_KEY[units], parsed.pop(_FLAGS_FIELD, 0), parsed)


def _describe_bit(flags: int, bit: CoreMLFlag) -> str:
    return f"{_FLAGS_FIELD}=0x{flags:03x} (COREML_FLAG_{bit.name})"


def _conflict(first: str, second: str, why: str) -> OptionError:
    return OptionError(f"conflicting CoreML options: {first} and {second} {why}")


def _resolve_units(given: _Given, extra: Mapping[str, str]) -> ComputeUnits:
    wanted: list[tuple[str, ComputeUnits]] = []
    refused: list[tuple[str, ComputeUnits]] = []
    if given.units is not None:
        wanted.append((f"{_COMPUTE_UNITS_FIELD}={given.units.key!r}", given.units))
    for name, unit in _UNIT_FIELDS.items():
        if name in given.bools:
            value = given.bools[name]
            (wanted if value else refused).append((f"{name}={value!r}", unit))
    wanted.extend((_describe_bit(given.flags, bit), unit)
                  for bit, unit in _UNIT_FLAGS.items() if given.flags & bit)
    if _UNITS_KEY in extra:
        source = _describe_extra(_UNITS_KEY, extra[_UNITS_KEY])
        by_ort_value = {unit.ort_value: unit for unit in ComputeUnits}
        if extra[_UNITS_KEY] not in by_ort_value:
            raise OptionError(f"{source}: expected one of {', '.join(map(repr, by_ort_value))}")
        wanted.append((source, by_ort_value[extra[_UNITS_KEY]]))
    if not wanted:
        return ComputeUnits.ALL
    first_source, first_unit = wanted[0]
    for source, unit in wanted[1:]:
        if unit is not first_unit:
            raise _conflict(
                first_source, source,
                f"ask for different compute units ({first_unit.ort_value} vs {unit.ort_value}); "
                "MLComputeUnits takes one value",
            )
    for source, unit in refused:
        if unit is first_unit:
            raise _conflict(
                first_source, source,
                f"disagree: one asks for compute units {unit.ort_value}, the other refuses them",
            )
    return first_unit


def _describe_extra(key: str, value: str) -> str:
    return f"provider_options['coreml'][{key!r}]={value!r}"


def _resolve_bool(option: _BoolOption, given: _Given, extra: Mapping[str, str]) -> bool:
    ort_key, name, bit, values = option
    claims: list[tuple[str, bool]] = []
    if name in given.bools:
        claims.append((f"{name}={given.bools[name]!r}", given.bools[name]))
    if given.flags & bit:
        claims.append((_describe_bit(given.flags, bit), True))
    if ort_key in extra:
        source = _describe_extra(ort_key, extra[ort_key])
        if extra[ort_key] not in values:
            raise OptionError(f"{source}: expected {values[0]!r} or {values[1]!r}")
        claims.append((source, extra[ort_key] == values[1]))
    for source, value in claims[1:]:
        if value != claims[0][1]:
            raise _conflict(claims[0][0], source, f"disagree about {ort_key}")
    return bool(claims) and claims[0][1]


def resolve_coreml_options(
    fields: Mapping[str, object], provider_options: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Turn the reference's CoreML fields into ORT's CoreML provider options.

    Args:
        fields: CoreML session fields by name (see :func:`coreml_field_names`); a ``None`` value
            counts as not given. ``coreml_compute_units`` takes ``"all"``, ``"cpu_only"``,
            ``"cpu_and_gpu"``, ``"cpu_and_neural_engine"`` or the aliases ``ALL``, ``CPUOnly``,
            ``CPUAndGPU``, ``CPUAndNeuralEngine``, ``MLComputeUnits…`` (any case);
            ``coreml_flags`` takes an int made of ``COREML_FLAG_*`` bits (:class:`CoreMLFlag`);
            every other field takes a bool.
        provider_options: ORT CoreML provider options given directly (the session option
            ``provider_options={"coreml": {...}}``), already strings. They join the
            resolution: one of the four options above that disagrees with a field is a conflict;
            other keys (``SpecializationStrategy``, ``ProfileComputePlan``…) pass through.

    Returns:
        ORT's CoreML provider options, the four it resolves always present:
        ``MLComputeUnits`` (``"ALL"``, ``"CPUOnly"``, ``"CPUAndGPU"``, ``"CPUAndNeuralEngine"``),
        ``ModelFormat`` (``"MLProgram"`` or ``"NeuralNetwork"``), ``RequireStaticInputShapes``
        and ``EnableOnSubgraphs`` (``"1"`` or ``"0"``), then any other ``provider_options``.

    Raises:
        OptionError: an unknown field, a value of the wrong type, an unknown compute-units name,
            unknown bits in ``coreml_flags``, or two settings that mean conflicting things (the
            message names both fields and their values).

    Example:
        >>> resolve_coreml_options({"coreml_compute_units": "CPUAndGPU", "coreml_flags": 0x010})
        {'MLComputeUnits': 'CPUAndGPU', 'ModelFormat': 'MLProgram', \
'RequireStaticInputShapes': '0', 'EnableOnSubgraphs': '0'}
    """
    given = _Given.parse(fields)
    extra = dict(provider_options or {})
    options = {_UNITS_KEY: _resolve_units(given, extra).ort_value}
    for option in _BOOL_OPTIONS:
        options[option.ort_key] = option.values[_resolve_bool(option, given, extra)]
    options.update((key, value) for key, value in extra.items() if key not in options)
    return options
