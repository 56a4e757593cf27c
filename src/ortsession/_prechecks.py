"""Cheap structural checks of what the package hands to ONNX Runtime, before ORT sees it.

**Model bytes** (:func:`check_model_bytes`). ONNX is a proto2 schema, so protobuf does not check
that ``string`` fields hold UTF-8. ORT loads such a model and then puts the bad bytes into its
error message or a value name, and its pybind layer fails to decode them: the caller gets a bare
``UnicodeDecodeError`` instead of a load error (docs/robustness.md has reproducers). The check
walks the protobuf wire format of a ``ModelProto`` once, following the ONNX schema into every
nested message, and raises :class:`~ortsession.ModelLoadError` for

* a string field (names, op types, domains, doc strings, metadata…) that is not valid UTF-8;
* a malformed encoding: a truncated field, a length past the end of its message, an overlong
  varint, field number 0, or a group (wire types 3/4, which no ONNX writer emits). Protobuf
  refuses the others too; the check only gives a clearer message, naming where the model breaks.

It never refuses what protobuf accepts otherwise: fields it does not know, or known fields with
an unexpected wire type, are skipped as protobuf skips unknown fields. The walk costs about a
microsecond per field and jumps over tensor payloads (``raw_data``); after :data:`FIELD_BUDGET`
fields (a huge model stored as unpacked repeated numbers) it stops checking.

**Custom-op libraries** (:func:`check_library_file`). ``dlopen`` of a truncated ELF shared
library (an interrupted download or copy) maps segments past the end of the file and the process
dies with ``SIGBUS`` on first touch. The check reads the ELF header and program headers and
raises :class:`~ortsession.CustomOpLibraryError` when a segment or the section table lies beyond
the end of the file. Other formats (not ELF) are left to the loader, which refuses them cleanly.
"""

from __future__ import annotations

import itertools
import os
import struct
from typing import Final

from ._errors import CustomOpLibraryError, ModelLoadError

__all__ = ["FIELD_BUDGET", "check_external_data", "check_library_file", "check_model_bytes"]

FIELD_BUDGET: Final = 1_000_000
"""Fields walked at most; the rest of a bigger model is left to ONNX Runtime."""

_S: Final = ""
_SCHEMA: Final[dict[str, dict[int, tuple[str, str]]]] = {
    # For each message of onnx.proto (ONNX 1.23): field number -> (field name, the nested
    # message, or _S for a string). Numeric and bytes fields need no check beyond the wire format.
    "ModelProto": {
        2: ("producer_name", _S), 3: ("producer_version", _S), 4: ("domain", _S),
        6: ("doc_string", _S), 7: ("graph", "GraphProto"),
        8: ("opset_import", "OperatorSetIdProto"),
        14: ("metadata_props", "StringStringEntryProto"),
        20: ("training_info", "TrainingInfoProto"), 25: ("functions", "FunctionProto"),
        26: ("configuration", "DeviceConfigurationProto")},
    "OperatorSetIdProto": {1: ("domain", _S)},
    "GraphProto": {
        1: ("node", "NodeProto"), 2: ("name", _S), 5: ("initializer", "TensorProto"),
        10: ("doc_string", _S), 11: ("input", "ValueInfoProto"),
        12: ("output", "ValueInfoProto"), 13: ("value_info", "ValueInfoProto"),
        14: ("quantization_annotation", "TensorAnnotation"),
        15: ("sparse_initializer", "SparseTensorProto"),
        16: ("metadata_props", "StringStringEntryProto")},
    "NodeProto": {
        1: ("input", _S), 2: ("output", _S), 3: ("name", _S), 4: ("op_type", _S),
        5: ("attribute", "AttributeProto"), 6: ("doc_string", _S), 7: ("domain", _S),
        8: ("overload", _S), 9: ("metadata_props", "StringStringEntryProto"),
        10: ("device_configurations", "NodeDeviceConfigurationProto")},
    "AttributeProto": {
        1: ("name", _S), 5: ("t", "TensorProto"), 6: ("g", "GraphProto"),
        10: ("tensors", "TensorProto"), 11: ("graphs", "GraphProto"), 13: ("doc_string", _S),
        14: ("tp", "TypeProto"), 15: ("type_protos", "TypeProto"), 21: ("ref_attr_name", _S),
        22: ("sparse_tensor", "SparseTensorProto"),
        23: ("sparse_tensors", "SparseTensorProto")},
    "TensorProto": {
        3: ("segment", "TensorProto.Segment"), 8: ("name", _S), 12: ("doc_string", _S),
        13: ("external_data", "StringStringEntryProto"),
        16: ("metadata_props", "StringStringEntryProto")},
    "TensorProto.Segment": {},
    "StringStringEntryProto": {1: ("key", _S), 2: ("value", _S)},
    "SparseTensorProto": {1: ("values", "TensorProto"), 2: ("indices", "TensorProto")},
    "TypeProto": {
        1: ("tensor_type", "TypeProto.Tensor"), 4: ("sequence_type", "TypeProto.Sequence"),
        5: ("map_type", "TypeProto.Map"), 6: ("denotation", _S),
        7: ("opaque_type", "TypeProto.Opaque"),
        8: ("sparse_tensor_type", "TypeProto.Tensor"),  # same layout as Tensor
        9: ("optional_type", "TypeProto.Sequence")},  # same layout as Sequence
    "TypeProto.Tensor": {2: ("shape", "TensorShapeProto")},
    "TensorShapeProto": {1: ("dim", "TensorShapeProto.Dimension")},
    "TensorShapeProto.Dimension": {2: ("dim_param", _S), 3: ("denotation", _S)},
    "TypeProto.Sequence": {1: ("elem_type", "TypeProto")},
    "TypeProto.Map": {2: ("value_type", "TypeProto")},
    "TypeProto.Opaque": {1: ("domain", _S), 2: ("name", _S)},
    "NodeDeviceConfigurationProto": {
        1: ("configuration_id", _S), 2: ("sharding_spec", "ShardingSpecProto")},
    "ShardingSpecProto": {
        1: ("tensor_name", _S), 3: ("index_to_device_group_map", "IntIntListEntryProto"),
        4: ("sharded_dim", "ShardedDimProto")},
    "IntIntListEntryProto": {},
    "ShardedDimProto": {2: ("simple_sharding", "SimpleShardedDimProto")},
    "SimpleShardedDimProto": {2: ("dim_param", _S)},
    "ValueInfoProto": {
        1: ("name", _S), 2: ("type", "TypeProto"), 3: ("doc_string", _S),
        4: ("metadata_props", "StringStringEntryProto")},
    "TensorAnnotation": {
        1: ("tensor_name", _S), 2: ("quant_parameter_tensor_names", "StringStringEntryProto")},
    "TrainingInfoProto": {
        1: ("initialization", "GraphProto"), 2: ("algorithm", "GraphProto"),
        3: ("initialization_binding", "StringStringEntryProto"),
        4: ("update_binding", "StringStringEntryProto")},
    "FunctionProto": {
        1: ("name", _S), 4: ("input", _S), 5: ("output", _S), 6: ("attribute", _S),
        7: ("node", "NodeProto"), 8: ("doc_string", _S),
        9: ("opset_import", "OperatorSetIdProto"), 10: ("domain", _S),
        11: ("attribute_proto", "AttributeProto"), 12: ("value_info", "ValueInfoProto"),
        13: ("overload", _S), 14: ("metadata_props", "StringStringEntryProto")},
    "DeviceConfigurationProto": {1: ("name", _S), 3: ("device", _S)},
}  # fmt: skip


class _MalformedError(Exception):
    def __init__(self, offset: int, message: str) -> None:
        super().__init__(message)
        self.offset = offset
        self.message = message


def _varint(data: bytes, pos: int, end: int) -> tuple[int, int]:
    """Read a varint at ``pos``; return ``(value, position after it)``."""
    result = 0
    shift = 0
    start = pos
    while True:
        if pos >= end:
            raise _MalformedError(start, "truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise _MalformedError(start, "varint longer than 10 bytes")


# bits per element of the fixed-size ONNX element types (TensorProto.DataType numbers)
_BITS: Final = {1: 32, 2: 8, 3: 8, 4: 16, 5: 16, 6: 32, 7: 64, 9: 8, 10: 16, 11: 64, 12: 32,
                13: 64, 14: 64, 15: 128, 16: 16, 17: 8, 18: 8, 19: 8, 20: 8, 21: 4, 22: 4,
                23: 4, 24: 8, 25: 2, 26: 2}  # fmt: skip


class _Tensor:
    """What the walk saw of one TensorProto: dims, data_type, raw_data size, data_location."""

    def __init__(self) -> None:
        self.dims: list[int] = []
        self.data_type = 0
        self.raw: int | None = None
        self.external = False

    def problem(self) -> str:
        """Why ``raw_data`` cannot hold the tensor (ONNX Runtime before 1.31 reads past it)."""
        bits = _BITS.get(self.data_type)
        if self.raw is None or self.external or bits is None:
            return ""
        if any(d >= 2**62 for d in self.dims):  # a negative dim: left to ORT
            return ""
        count = 1
        for d in self.dims:
            count *= d
        need = (count * bits + 7) // 8
        if self.raw == need:
            return ""
        return (f"raw_data holds {self.raw} bytes, but dims {self.dims} of element type "
                f"{self.data_type} need {need}")


def _walk(data: bytes, found: list[tuple[str, str]] | None = None) -> None:
    """Walk ``data`` as a ModelProto; raise :class:`_MalformedError` at the first problem.

    With ``found``, the ``(key or value, text)`` strings of every tensor's ``external_data``
    entries are appended to it, in order.
    """
    # stack of (message type, end offset, field path such as "model.graph.node")
    stack: list[tuple[str, int, str]] = [("ModelProto", len(data), "model")]
    tensors: list[_Tensor] = []  # one per TensorProto on the stack
    pos = 0
    budget = FIELD_BUDGET
    while stack:
        message, end, path = stack[-1]
        if pos == end:
            stack.pop()
            if message == "TensorProto":
                problem = tensors.pop().problem()
                if problem:
                    raise _MalformedError(end, f"{path}: {problem}")
            continue
        budget -= 1
        if budget < 0:
            return
        field_start = pos
        tag, pos = _varint(data, pos, end)
        number, wire = tag >> 3, tag & 7
        if number == 0:
            raise _MalformedError(field_start, f"field number 0 in {path}")
        if wire == 0:
            value, pos = _varint(data, pos, end)
            if message == "TensorProto":
                if number == 1:
                    tensors[-1].dims.append(value)
                elif number == 2:
                    tensors[-1].data_type = value
                elif number == 14:
                    tensors[-1].external = value == 1
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
            if pos > end:
                raise _MalformedError(field_start, f"truncated fixed-size field {number} in {path}")
        elif wire == 2:
            length, pos = _varint(data, pos, end)
            if length > end - pos:
                raise _MalformedError(field_start, f"field {number} of {path} is {length} "
                                                   f"bytes long, past the end of its message")
            if message == "TensorProto" and number == 9:
                tensors[-1].raw = length
            elif message == "TensorProto" and number == 1:  # packed dims
                at = pos
                while at < pos + length:
                    dim, at = _varint(data, at, pos + length)
                    tensors[-1].dims.append(dim)
            known = _SCHEMA[message].get(number)
            if known is not None:
                name, kind = known
                if kind == _S:
                    try:
                        text = data[pos:pos + length].decode("utf-8")
                    except UnicodeDecodeError as exc:
                        raise _MalformedError(pos + exc.start,
                                              f"{path}.{name} is not valid UTF-8") from None
                    if found is not None and path.endswith(".external_data"):
                        found.append((name, text))
                else:
                    stack.append((kind, pos + length, f"{path}.{name}"))
                    if kind == "TensorProto":
                        tensors.append(_Tensor())
                    continue
            pos += length
        else:
            raise _MalformedError(field_start, f"wire type {wire} (field {number} of {path}) "
                                               f"is not used by ONNX models")


def check_model_bytes(data: bytes, source: str) -> None:
    """Check that ``data`` is a well-formed ``ModelProto`` whose string fields are UTF-8.

    Args:
        data: the serialized model.
        source: how messages name the model (``"<bytes>"`` or the path).

    Raises:
        ModelLoadError: the bytes are empty, malformed, or a string field is not valid UTF-8;
            the message names the field (e.g. ``model.graph.node.op_type``) and the byte offset.
    """
    if not data:
        raise ModelLoadError(f"cannot load model {source}: the model bytes are empty")
    try:
        _walk(bytes(data))
    except _MalformedError as exc:
        raise ModelLoadError(f"cannot load model {source}: not a valid ONNX model: "
                             f"{exc.message} (at byte {exc.offset})") from None


def check_external_data(path: str, label: str) -> None:
    """Refuse a model file whose tensors' external data lie outside its folder.

    ONNX Runtime 1.24 and newer refuse an absolute ``location`` or one that escapes the model's
    folder (``../weights.bin``); older versions read any file. The builder calls this for those.
    The same walk refuses a ``raw_data`` that does not match its tensor (older versions read
    past it); a file that is not a model at all is left to ORT's own message.

    Raises:
        ModelLoadError: such a location or tensor.
    """
    try:
        with open(path, "rb") as stream:
            data = stream.read()
    except OSError:
        return  # ORT reports what it cannot read
    found: list[tuple[str, str]] = []
    try:
        _walk(data, found)
    except _MalformedError as exc:
        if "raw_data holds" not in exc.message:
            return  # not a model: ORT says so in its own words
        raise ModelLoadError(f"cannot load model {label}: not a valid ONNX model: "
                             f"{exc.message} (at byte {exc.offset})") from None
    folder = os.path.realpath(os.path.dirname(os.path.abspath(path)))
    for (field, text), (next_field, location) in itertools.pairwise(found):
        if (field, text, next_field) != ("key", "location", "value"):
            continue
        target = os.path.realpath(os.path.join(folder, location))
        if os.path.isabs(location) or not target.startswith(folder + os.sep):
            raise ModelLoadError(
                f"cannot load model {label}: external data location {location!r} is outside "
                f"the model's folder {folder!r}; it must be a relative path inside it")


_ELF_MAGIC: Final = b"\x7fELF"


def _elf_problem(path: str) -> str | None:
    """Return why the ELF file at ``path`` is cut short, or ``None`` (also for non-ELF files)."""
    size = os.path.getsize(path)
    with open(path, "rb") as stream:
        ident = stream.read(64)
        if len(ident) < 16 or ident[:4] != _ELF_MAGIC:
            return None
        wide, order = ident[4] == 2, "<" if ident[5] == 1 else ">"
        header = (f"{order}16xHHIQQQIHHHHHH" if wide else f"{order}16xHHIIIIIHHHHHH")
        if len(ident) < struct.calcsize(header):
            return f"the ELF header is cut short ({size} bytes)"
        (_, _, _, _, phoff, shoff, _, _, phentsize, phnum, shentsize, shnum,
         _) = struct.unpack_from(header, ident)
        if phoff + phnum * phentsize > size:
            return f"its program headers end at byte {phoff + phnum * phentsize}, past its size"
        if shoff and shoff + shnum * shentsize > size:
            return f"its section headers end at byte {shoff + shnum * shentsize}, past its size"
        stream.seek(phoff)
        table = stream.read(phnum * phentsize)
    segment = f"{order}I4xQ8x8xQ" if wide else f"{order}II8xI"  # p_type, p_offset, p_filesz
    for i in range(phnum):
        _, offset, filesz = struct.unpack_from(segment, table, i * phentsize)
        if filesz and offset + filesz > size:
            return (f"segment {i} ends at byte {offset + filesz}, past the end of the file "
                    f"({size} bytes)")
    return None


def check_library_file(path: str) -> None:
    """Check that the shared library at ``path`` is not a truncated ELF file.

    Call it before ``ctypes.CDLL`` / ORT's ``register_custom_ops_library``: ``dlopen`` of a cut
    ELF file kills the process with ``SIGBUS``.

    Raises:
        CustomOpLibraryError: the file is an ELF file cut short (the message says where), or it
            cannot be read.
    """
    try:
        problem = _elf_problem(path)
    except (OSError, struct.error) as exc:
        raise CustomOpLibraryError(f"custom-op library {path!r}: cannot be read: "
                                   f"{exc}") from None
    if problem is not None:
        raise CustomOpLibraryError(f"custom-op library {path!r}: truncated or corrupt shared "
                                   f"library: {problem}")
