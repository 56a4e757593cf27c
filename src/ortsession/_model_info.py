"""What ORT reports of a loaded model: ``MemoryInfo`` of inputs and outputs, ``ModelMetadata``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from . import _engine
from ._devices import device_type
from ._outputs import Outputs

__all__ = ["MemoryInfo", "ModelMetadata", "host_memory_infos", "memory_infos", "model_metadata"]

_INT64_MAX: Final = 2**63 - 1
_MEM_TYPES: Final = {-2: "cpu_input", -1: "cpu_output", 0: "default"}


@dataclass(frozen=True)
class MemoryInfo:
    """Where ORT expects (inputs) or places (outputs) one value."""

    name: str
    """Allocator name, e.g. ``"Cpu"`` or ``"Cuda"``."""
    id: int
    """Device id."""
    mem_type: str
    """ORT memory type: ``"default"``, ``"cpu_input"`` or ``"cpu_output"``."""
    allocator_type: str
    """``"device"``, ``"arena"`` or ``"invalid"``."""
    device_type: str
    """``"cpu"``, ``"gpu"``, ``"fpga"``, ``"npu"`` …"""
    device_mem_type: str
    """``"default"`` or ``"host_accessible"``."""
    vendor_id: int
    """PCI vendor id of the device (0 for CPU)."""

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a dict."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class ModelMetadata:
    """The model's metadata (``ModelProto`` fields and custom metadata properties)."""

    producer_name: str
    """Tool that produced the model."""
    graph_name: str
    """Name of the main graph."""
    graph_description: str
    """Doc string of the main graph."""
    domain: str
    """Model domain."""
    description: str
    """Doc string of the model."""
    version: int
    """Model version (0 when unset)."""
    custom_metadata: dict[str, str]
    """Custom key/value metadata properties."""

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a dict."""
        return {**self.__dict__, "custom_metadata": dict(self.custom_metadata)}


def memory_infos(infos: list[Any], names: list[str]) -> Outputs:
    """Convert ORT's ``OrtMemoryInfo`` list into :class:`MemoryInfo` entries, by position/name."""
    entries = [MemoryInfo(
        name=str(m.name), id=int(m.device_id), mem_type=_MEM_TYPES.get(int(m.mem_type),
                                                                      str(int(m.mem_type))),
        allocator_type=str(m.allocator_type.name).replace("ORT_", "").replace(
            "_ALLOCATOR", "").lower(),
        device_type=device_type(str(m.name)), device_mem_type=str(m.device_mem_type.name).lower(),
        vendor_id=int(m.device_vendor_id)) for m in infos]
    return Outputs(names, entries)


def host_memory_infos(what: str, names: list[str], providers: list[str],
                      arena: bool) -> Outputs:
    """Answer for onnxruntime < 1.23, which cannot say: known on the CPU provider alone.

    Host memory, from the arena unless ``enable_cpu_mem_arena`` is off (what 1.23+ reports).
    """
    if providers != ["cpu"]:
        _engine.require("input_meminfos", f"{what} with providers {providers}")
    info = MemoryInfo(name="Cpu", id=0, mem_type="default",
                      allocator_type="arena" if arena else "device", device_type="cpu",
                      device_mem_type="default", vendor_id=0)
    return Outputs(names, [info] * len(names))


def model_metadata(meta: Any) -> ModelMetadata:
    """Convert ORT's ``ModelMetadata`` into :class:`ModelMetadata`."""
    version = int(meta.version)
    return ModelMetadata(
        producer_name=str(meta.producer_name), graph_name=str(meta.graph_name),
        graph_description=str(meta.graph_description), domain=str(meta.domain),
        description=str(meta.description), version=0 if version == _INT64_MAX else version,
        custom_metadata=dict(meta.custom_metadata_map))
