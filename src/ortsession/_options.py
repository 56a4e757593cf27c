"""Session options: parsed once, from a dict and/or keyword arguments, into a frozen dataclass.

Every field of :class:`SessionOptions` is declared with :func:`ortsession._fields.option`, which
attaches its check, so the field list is written once. :func:`parse_session_options` runs those
checks (the same toolkit checks :func:`ortsession.configure` and run options) and the checks
between fields (CoreML fields need the CoreML provider, provider options need their provider), and
returns a :class:`SessionOptions`. Nothing reaches ONNX Runtime before that succeeds.

CoreML fields are resolved into ORT's CoreML provider options once, when the options are made,
and kept on them (:attr:`SessionOptions.coreml_provider_options`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

from . import _option_checks as checks
from ._coreml import coreml_field, coreml_field_names, resolve_coreml_options
from ._enums import ExecutionMode, GraphOptimizationLevel
from ._errors import OptionError
from ._fields import (
    INT32_MAX,
    MAX_THREADS,
    boolean,
    choice,
    integer,
    merge_fields,
    option,
    parse_fields,
    path,
    str_mapping,
    text,
)
from ._option_checks import FreeDimensionOverride
from ._providers import CPU, Provider, short_name

__all__ = ["SessionOptions", "parse_session_options"]

_WHAT: Final = "session option"
_COREML: Final = Provider.COREML.long_name


@dataclass(frozen=True)
class SessionOptions:
    """Every session option of the reference, checked; build one with :func:`parse_session_options`.

    Fields hold parsed values: providers as ORT long names, enums for closed sets, absolute
    paths for custom-op libraries, read-only mappings for dicts. ``session.options`` is one.
    """

    providers: tuple[str, ...] = option((CPU,), checks.providers)
    """Execution providers as ORT long names, first preferred (option ``providers`` or
    ``provider``: a name or a list of names, any case, aliases accepted). Default: CPU only."""

    fallback_to_cpu: bool = option(True, boolean())
    """Create the session on CPU when a provider is missing or fails to start. Default ``True``."""

    intra_op_num_threads: int = option(0, integer(0, MAX_THREADS))
    """Threads used inside one operator (int >= 0; 0 lets ORT choose). Default ``0``."""

    inter_op_num_threads: int = option(0, integer(0, MAX_THREADS))
    """Threads running operators in parallel (int >= 0; 0 lets ORT choose; only used with
    ``execution_mode="parallel"``). Default ``0``."""

    log_id: str = option("", text())
    """Session log id, shown in ORT's log lines (str). Default ``""``: the ``log_id`` given to
    :func:`ortsession.configure`, if any."""

    session_log_severity_level: int | None = option(None, integer(0, 4))
    """Session log severity, 0 verbose, 1 info, 2 warning, 3 error, 4 fatal. Default ``None``:
    the process-wide level (``configure(log_severity_level=...)``)."""

    session_log_verbosity_level: int = option(0, integer(0, INT32_MAX))
    """Verbosity of verbose (severity 0) log messages (int >= 0; needs a debug build of ORT).
    Default ``0``."""

    optimized_model_path: str | None = option(None, path())
    """Write the optimized model to this path (str or os.PathLike). Default ``None`` (no file)."""

    profile_file_prefix: str | None = option(None, path())
    """Turn profiling on; the JSON profile file name starts with this prefix (str or
    os.PathLike). Default ``None`` (profiling off)."""

    free_dimension_overrides: tuple[FreeDimensionOverride, ...] = option(
        (), checks.free_dimension_overrides)
    """Fix symbolic dimensions: a list of ``{"by": "name"|"denotation", "key": str,
    "value": int >= 0}``. Default: none."""

    config_entries: Mapping[str, str] = option({}, str_mapping())
    """ORT session config entries (``dict[str, str]``, e.g.
    ``{"session.intra_op.allow_spinning": "0"}``). Default: none."""

    graph_optimization_level: GraphOptimizationLevel = option(
        GraphOptimizationLevel.ALL, choice(GraphOptimizationLevel, GraphOptimizationLevel.aliases))
    """``"disable"``, ``"basic"``, ``"extended"`` or ``"all"``. Default ``"all"``."""

    execution_mode: ExecutionMode = option(
        ExecutionMode.SEQUENTIAL, choice(ExecutionMode, ExecutionMode.aliases))
    """``"sequential"`` or ``"parallel"``. Default ``"sequential"``."""

    deterministic_compute: bool = option(False, boolean())
    """Ask kernels for deterministic results (bool). Default ``False``."""

    disable_per_session_threads: bool = option(False, boolean())
    """Run on the process-wide thread pools instead of the session's own (bool; needs
    ``configure(use_global_thread_pools=True)``). Default ``False``."""

    enable_cpu_mem_arena: bool = option(True, boolean())
    """Use ORT's arena allocator for CPU memory (bool). Default ``True``."""

    enable_mem_pattern: bool = option(True, boolean())
    """Pre-plan memory from the first run's allocation pattern (bool). Default ``True``."""

    custom_op_libraries: tuple[str, ...] = option((), checks.custom_op_libraries)
    """Custom-op libraries to register, as absolute paths (option value: a path, a
    :class:`~ortsession.CustomOpLibrary` handle, or a list mixing both). Default: none."""

    coreml_compute_units: str | None = option(None, coreml_field)
    """CoreML compute units: ``"all"``, ``"cpu_only"``, ``"cpu_and_gpu"`` or
    ``"cpu_and_neural_engine"`` (aliases ``ALL``, ``CPUOnly``, ``CPUAndGPU``,
    ``CPUAndNeuralEngine``, ``MLComputeUnits…`` accepted, any case). Default ``None`` (``ALL``)."""

    coreml_create_mlprogram: bool | None = option(None, coreml_field)
    """CoreML: build an ML Program instead of a NeuralNetwork model. Default ``None`` (no)."""

    coreml_require_static_input_shapes: bool | None = option(None, coreml_field)
    """CoreML: only take nodes whose inputs have static shapes. Default ``None`` (no)."""

    coreml_enable_on_subgraph: bool | None = option(None, coreml_field)
    """CoreML: also run on control-flow subgraphs (Loop, Scan, If). Default ``None`` (no)."""

    coreml_flags: int | None = option(None, coreml_field)
    """Legacy CoreML bit mask of ORT's ``COREML_FLAG_*`` values (0x001 CPU only, 0x002 subgraphs,
    0x004 ANE devices only, 0x008 static shapes, 0x010 ML Program, 0x020 CPU and GPU).
    Default ``None``."""

    coreml_use_cpu_only: bool | None = option(None, coreml_field)
    """Legacy CoreML: compute units ``CPUOnly``. Default ``None``."""

    coreml_use_cpu_and_gpu: bool | None = option(None, coreml_field)
    """Legacy CoreML: compute units ``CPUAndGPU``. Default ``None``."""

    coreml_only_enable_device_with_ane: bool | None = option(None, coreml_field)
    """Legacy CoreML: compute units ``CPUAndNeuralEngine``. Default ``None``."""

    provider_options: Mapping[str, Mapping[str, str]] = option({}, checks.provider_options)
    """ORT provider options by provider (ORT long name) → {key: value}, values stringified (bools
    become ``"1"``/``"0"``). Each provider named must be in ``providers``. Default: none."""

    external_initializers: Mapping[str, Any] = option({}, checks.external_initializers)
    """Initializers given from memory at session creation: ``{initializer name: Tensor}``
    (option value: ``Tensor``, numpy array or any ``__dlpack__``/``__array__`` array). Each
    replaces the model's initializer of that name, which must be stored as external data (a
    model saved with ``save_as_external_data``; ORT refuses to replace inline initializers) with
    the same element type and shape; its file is then not needed. The memory is shared, not
    copied, and kept alive by the session; sub-byte types (int4 …) and strings are refused.
    Needs ORT's ``SessionOptions.add_external_initializers``. Default: none."""

    external_data: Mapping[str, Any] = option({}, checks.external_data)
    """External data files given from memory: ``{file name as the model's external_data
    location says (e.g. "weights.bin"): bytes-like}`` (``bytes``, ``bytearray``, ``memoryview``,
    a uint8 numpy array), for a model saved with external data and loaded without its files
    (from bytes, or from a folder lacking them). Needs ORT's
    ``SessionOptions.add_external_initializers_from_files_in_memory``. Default: none."""

    coreml_provider_options: Mapping[str, str] = field(
        init=False, repr=False, compare=False, default_factory=lambda: MappingProxyType({}))
    """ORT's CoreML provider options, resolved once from the CoreML fields and
    ``provider_options["coreml"]`` when the options are made (see
    :func:`ortsession.resolve_coreml_options`); ORT gets them when ``"coreml"`` is among the
    providers. Not an option: computed, not given."""

    def __post_init__(self) -> None:
        fields, given = self.coreml_fields(), self.provider_options.get(_COREML)
        resolved = (_COREML_DEFAULTS if not fields and not given
                    else MappingProxyType(resolve_coreml_options(fields, given)))
        object.__setattr__(self, "coreml_provider_options", resolved)

    def coreml_fields(self) -> dict[str, object]:
        """Return the CoreML fields that were set (not ``None``), by name."""
        return {name: value for name in _COREML_FIELDS
                if (value := getattr(self, name)) is not None}

    def coreml_options(self) -> dict[str, str]:
        """Return ORT's CoreML provider options resolved from the CoreML fields (a copy).

        See :func:`ortsession.resolve_coreml_options`; ``provider_options`` given for CoreML are
        merged in. Resolved once, when the options were made.
        """
        return dict(self.coreml_provider_options)


_COREML_FIELDS: Final = coreml_field_names()
_COREML_DEFAULTS: Final = MappingProxyType(resolve_coreml_options({}))
_PROVIDER_ALIAS: Final = {"provider": checks.providers}


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
    if "providers" in given and "provider" in given:
        raise OptionError(f"{_WHAT}s 'providers' and 'provider' are the same option: give one")
    parsed = parse_fields(SessionOptions, given, what=_WHAT, aliases=_PROVIDER_ALIAS)
    if "provider" in parsed:
        parsed["providers"] = parsed.pop("provider")
    _check_providers(parsed)
    return SessionOptions(**parsed)


def _check_providers(parsed: Mapping[str, Any]) -> None:
    """Refuse options for a provider that is not among the providers."""
    providers: tuple[str, ...] = parsed.get("providers", SessionOptions.providers)
    listed = ", ".join(map(short_name, providers))
    if _COREML not in providers:
        coreml = [name for name in _COREML_FIELDS if name in parsed]
        if coreml:
            names = ", ".join(map(repr, coreml))
            subject = f"{_WHAT} {names} applies" if len(coreml) == 1 else f"{_WHAT}s {names} apply"
            raise OptionError(f"{subject} to the CoreML provider, which is not in providers "
                              f"({listed}): add 'coreml' to providers")
    for long_name in parsed.get("provider_options", {}):
        if long_name not in providers:
            raise OptionError(f"{_WHAT} 'provider_options' has options for "
                              f"{short_name(long_name)!r}, which is not in providers ({listed})")
