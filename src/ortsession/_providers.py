"""Execution providers: one table of every provider ONNX Runtime knows, and name resolution.

Users name providers by a short name (``"cpu"``, ``"coreml"``, ``"cuda"``), by ORT's long name
(``"CPUExecutionProvider"``) or by an alias (``"trt"``, ``"directml"``); matching ignores case.
Everything inside the package speaks ORT's long names; :func:`short_name` turns them back.

The table is static (it does not depend on the ORT build): :func:`available_short_names` asks ORT
which of these providers the installed build actually has.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from enum import Enum
from typing import Final

from . import _engine
from ._errors import OptionError

__all__ = [
    "CPU",
    "Provider",
    "available_short_names",
    "display_name",
    "resolve_providers",
    "short_name",
]


class Provider(Enum):
    """Every execution provider ONNX Runtime knows: short name, ORT long name and aliases.

    Attributes:
        short: the short name ``ortsession`` reports (``"cpu"``, ``"coreml"``…).
        long_name: ORT's name (``"CPUExecutionProvider"``…).
        aliases: further names accepted on input, besides ``short`` and ``long_name``.
        display: the name as its vendor spells it, for people (``"CoreML"``, ``"oneDNN"``).
    """

    CPU = ("cpu", "CPUExecutionProvider", (), "CPU")
    CUDA = ("cuda", "CUDAExecutionProvider", (), "CUDA")
    TENSORRT = ("tensorrt", "TensorrtExecutionProvider", ("trt",), "TensorRT")
    NV_TENSORRT_RTX = ("nv_tensorrt_rtx", "NvTensorRTRTXExecutionProvider",
                       ("tensorrt_rtx", "nvtensorrtrtx"), "TensorRT RTX")
    MIGRAPHX = ("migraphx", "MIGraphXExecutionProvider", (), "MIGraphX")
    ROCM = ("rocm", "ROCMExecutionProvider", (), "ROCm")
    OPENVINO = ("openvino", "OpenVINOExecutionProvider", (), "OpenVINO")
    DNNL = ("dnnl", "DnnlExecutionProvider", ("onednn", "mkldnn"), "oneDNN")
    VITISAI = ("vitisai", "VitisAIExecutionProvider", ("vitis_ai",), "Vitis AI")
    QNN = ("qnn", "QNNExecutionProvider", (), "QNN")
    NNAPI = ("nnapi", "NnapiExecutionProvider", (), "NNAPI")
    VSINPU = ("vsinpu", "VSINPUExecutionProvider", (), "vsinpu")
    JS = ("js", "JsExecutionProvider", (), "js")
    COREML = ("coreml", "CoreMLExecutionProvider", ("core_ml",), "CoreML")
    DML = ("dml", "DmlExecutionProvider", ("directml",), "DirectML")
    RKNPU = ("rknpu", "RknpuExecutionProvider", (), "rknpu")
    WEBNN = ("webnn", "WebNNExecutionProvider", (), "WebNN")
    WEBGPU = ("webgpu", "WebGpuExecutionProvider", (), "WebGPU")
    XNNPACK = ("xnnpack", "XnnpackExecutionProvider", (), "XNNPACK")
    CANN = ("cann", "CANNExecutionProvider", (), "CANN")
    AZURE = ("azure", "AzureExecutionProvider", (), "Azure")
    ARMNN = ("armnn", "ArmNNExecutionProvider", (), "ArmNN")
    ACL = ("acl", "ACLExecutionProvider", (), "ACL")
    TVM = ("tvm", "TvmExecutionProvider", (), "tvm")  # known to onnxruntime 1.20 only

    def __init__(self, short: str, long_name: str, aliases: tuple[str, ...],
                 display: str) -> None:
        self.short: Final = short
        self.long_name: Final = long_name
        self.aliases: Final = aliases
        self.display: Final = display

    def names(self) -> tuple[str, ...]:
        """Return every name this provider is accepted under (short, long, aliases)."""
        return (self.short, self.long_name, *self.aliases)


CPU: Final = Provider.CPU.long_name
"""ORT's long name of the CPU provider, the fallback of every session."""

_BY_NAME: Final[dict[str, Provider]] = {
    name.lower(): provider for provider in Provider for name in provider.names()
}
_BY_LONG: Final[dict[str, Provider]] = {provider.long_name: provider for provider in Provider}
_SUFFIX: Final = "ExecutionProvider"


def _lookup(name: str, field: str) -> Provider:
    provider = _BY_NAME.get(name.strip().lower())
    if provider is not None:
        return provider
    candidates = sorted(_BY_NAME)
    close = difflib.get_close_matches(name.strip().lower(), candidates, n=1, cutoff=0.6)
    hint = f" (did you mean {_BY_NAME[close[0]].short!r}?)" if close else ""
    known = ", ".join(p.short for p in Provider)
    raise OptionError(
        f"{field!r}: unknown execution provider {name!r}{hint}; known providers: {known} "
        f"(ORT's long names such as 'CPUExecutionProvider' are accepted too)"
    )


def resolve_providers(value: object, *, field: str = "providers") -> tuple[str, ...]:
    """Turn the ``providers`` option into ORT long names, in preference order.

    Args:
        value: ``None``, one provider name, or a list/tuple of names (short names, ORT long names
            or aliases, any case). ``None`` or an empty list means CPU only.
        field: the option name used in error messages (``"providers"`` or ``"provider"``).

    Returns:
        ORT long names, first preferred, duplicates removed (the first occurrence is kept).

    Raises:
        OptionError: ``value`` is not a string or a list of strings, or names an unknown provider
            (the message lists the known short names and suggests the closest one).

    Example:
        >>> resolve_providers(["CoreML", "cpu", "CPUExecutionProvider"])
        ('CoreMLExecutionProvider', 'CPUExecutionProvider')
    """
    if value is None:
        return (CPU,)
    names: Sequence[object]
    if isinstance(value, str):
        names = [value]
    elif isinstance(value, (list, tuple)):
        names = value
    else:
        raise OptionError(
            f"{field!r}: expected a provider name or a list of provider names, "
            f"got {value!r} ({type(value).__name__})"
        )
    resolved: list[str] = []
    for index, name in enumerate(names):
        if not isinstance(name, str):
            raise OptionError(
                f"{field!r}: item {index} must be a provider name (str), "
                f"got {name!r} ({type(name).__name__})"
            )
        long_name = _lookup(name, field).long_name
        if long_name not in resolved:
            resolved.append(long_name)
    return tuple(resolved) or (CPU,)


def short_name(long_name: str) -> str:
    """Return the short name of an ORT provider name (``"CUDAExecutionProvider"`` → ``"cuda"``).

    A name missing from the table (a provider newer than this package) loses its
    ``ExecutionProvider`` suffix and is lower-cased.
    """
    provider = _BY_LONG.get(long_name)
    if provider is not None:
        return provider.short
    base = long_name[: -len(_SUFFIX)] if long_name.endswith(_SUFFIX) else long_name
    return base.lower()


def available_short_names() -> list[str]:
    """Return the short names of the providers this ORT build has, in ORT's priority order."""
    return [short_name(name) for name in _engine.available_providers()]


def display_name(name: str) -> str:
    """Return a provider's name as its vendor spells it, from any of its names.

    ``"coreml"`` or ``"CoreMLExecutionProvider"`` → ``"CoreML"``. A name missing from the table
    (a provider newer than this package) gives its :func:`short_name`.

    >>> display_name("CUDAExecutionProvider"), display_name("dnnl"), display_name("NewEP")
    ('CUDA', 'oneDNN', 'newep')
    """
    provider = _BY_LONG.get(name) or _BY_NAME.get(name.strip().lower())
    return provider.display if provider is not None else short_name(name)
