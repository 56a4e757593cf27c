"""Devices: one table of the memory kinds ONNX Runtime names, and what each is.

ORT names the memory of a session's inputs and outputs (``OrtMemoryInfo.name``: ``"Cpu"``,
``"Cuda"``, ``"CudaPinned"``, ``"Hip"``, ``"DML"``, ``"WebGPU_Buffer"``, ``"OpenVINO_CPU"``…).
Two questions are asked of such a name, both answered from :data:`_MEMORY_KINDS`:

* :func:`device_type` — what ``MemoryInfo.device_type`` reports: ``"cpu"`` for host memory
  (pinned host memory included), ``"gpu"`` for accelerator memory, else the name itself;
* :func:`ort_device_kind` — which ``OrtDevice`` factory (``"cuda"``, ``"gpu"``, ``"dml"``,
  ``"webgpu"``) places an output there, or ``None`` for the host.
"""

from __future__ import annotations

from typing import Final

__all__ = ["device_type", "ort_device_kind"]

_MEMORY_KINDS: Final[tuple[tuple[str, str, str | None], ...]] = (
    # (name prefix, device type, OrtDevice factory or None for the host); first match wins,
    # so the pinned host memories come before their devices
    ("cudapinned", "cpu", None),
    ("hippinned", "cpu", None),
    ("cuda", "gpu", "cuda"),
    ("hip", "gpu", "gpu"),
    ("rocm", "gpu", "gpu"),
    ("dml", "gpu", "dml"),
    ("webgpu", "gpu", "webgpu"),
)


def _kind(name: str) -> tuple[str, str | None] | None:
    lower = name.lower()
    if "cpu" in lower:  # "Cpu", "OpenVINO_CPU" …
        return ("cpu", None)
    for prefix, device, factory in _MEMORY_KINDS:
        if lower.startswith(prefix):
            return (device, factory)
    return None


def device_type(memory_name: str) -> str:
    """Return the device type of ORT's memory ``memory_name``: ``"cpu"``, ``"gpu"`` or the name.

    >>> device_type("Cpu"), device_type("CudaPinned"), device_type("Cuda"), device_type("QNN")
    ('cpu', 'cpu', 'gpu', 'qnn')
    """
    kind = _kind(memory_name)
    return kind[0] if kind is not None else memory_name.lower()


def ort_device_kind(memory_name: str) -> str | None:
    """Return the ``OrtDevice`` factory for ORT's memory ``memory_name``; ``None``: the host.

    >>> ort_device_kind("Cuda"), ort_device_kind("Hip"), ort_device_kind("CudaPinned")
    ('cuda', 'gpu', None)
    """
    kind = _kind(memory_name)
    return kind[1] if kind is not None else None
