"""The Lua module's surface: its functions and the methods of its objects, pinned.

``onnxruntime.lua`` and ``ops.lua`` build their methods and module functions from what the
bridges declare (``ortsession/lua/_api.py``), so a ``lua_`` method added, renamed or removed
in Python changes the Lua API: this test says so, as tests/test_public_api.py does for Python.
"""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("lupa.lua54")

from ortsession import lua as ortlua

SESSION_MODULE = {
    "configure", "session", "session_from_bytes", "tensor", "tensor_from_bytes", "optional",
    "run_options", "load_custom_op_library", "version", "providers",
}
TENSOR_MODULE = {
    "clamp", "sigmoid", "exp", "matmul", "where", "concat", "stack",
    "tensor_from_image", "tensor_from_images", "image_from_tensor",
    "nms", "rotated_nms", "box_points", "xywh_to_xyxy", "xyxy_to_xywh", "rotated_iou",
    "create_decoder", "decode_yolo", "decode_yolo_obb", "decode_matrix_candidates",
    "decode_dense_detection", "records_from_boxes", "obb_records_from_rows", "points_to_records",
    "threshold_masks", "crop_masks_by_boxes", "resize_masks", "mask_iou", "mask_to_polygon",
    "proto_masks", "project_masks", "reshape_keypoints", "scale_boxes", "clip_boxes",
    "scale_points", "scale_keypoints", "clip_keypoints", "tracker", "ctc_greedy_decode",
    "sample_logits",
}
METHODS = {
    "session": {
        "run", "run_into", "run_with_iobinding",
        "input_names", "output_names", "overridable_initializer_names",
        "input_count", "output_count", "overridable_initializer_count",
        "input_info", "output_info", "overridable_initializer_info",
        "memory_info_for_inputs", "memory_info_for_outputs",
        "metadata", "providers", "close", "end_profiling", "profiling_start_time_ns",
        "set_ep_dynamic_options", "register_custom_op_library", "create_io_binding",
        "fallback_reason",
    },
    "tensor": {
        "to_table", "tolist", "tobytes", "shape", "data_type", "element_count", "nbytes",
        "device",
        "info", "rank", "size", "type", "bytes", "get", "set", "fill", "clone",
        "copy_from_bytes", "to", "reshape", "transpose", "flatten", "squeeze", "unsqueeze",
        "slice", "select", "gather", "add", "sub", "mul", "div", "dot", "argmax", "sum", "mean",
        "max", "min", "softmax", "normalize", "sort", "topk", "clamp", "sigmoid", "exp", "matmul",
    },
    "run_options": {
        "tag", "log_severity_level", "log_verbosity_level", "terminate", "reset_terminate",
        "terminated",
    },
    "io_binding": {
        "bind_input", "bind_output", "clear_inputs", "clear_outputs", "synchronize_inputs",
        "synchronize_outputs", "get_outputs",
    },
    "optional": {"is_empty", "value", "type_info"},
    "custom_op_library": {"path"},
    "decoder": {"decode", "task", "schema"},
    "tracker": {"update", "reset", "state", "close"},
    "image": {
        "size", "width", "height", "get_color", "set_color", "get_rgba", "png_data",
        "jpeg_data", "save_to_png_file", "save_to_jpeg_file", "copy", "crop", "destroy",
    },
}


def _keys(table: Any) -> set[str]:
    return {key.decode() for key in table}


def test_module_functions_and_methods_are_pinned() -> None:
    runtime = ortlua.new_runtime()
    internals = runtime._ortsession.internals
    module = runtime.eval(b"(require(\"onnxruntime\"))")
    assert _keys(module) == SESSION_MODULE | TENSOR_MODULE
    classes = internals[b"classes"]
    assert _keys(classes) == set(METHODS)
    for kind, expected in METHODS.items():
        assert _keys(classes[kind.encode()][b"methods"]) == expected, kind


def test_every_method_checks_its_self() -> None:
    """Each generated method refuses a call with '.' (the bridge's method() wrapper)."""
    runtime = ortlua.new_runtime()
    check = runtime.eval(b"""function(kind, name)
        local c = require("onnxruntime")
        local t = c.tensor("float32", {1}, {1})
        local ok, err = t[name](42)
        return ok, err
    end""")
    for name in sorted(METHODS["tensor"]):
        ok, err = check(b"tensor", name.encode())
        assert ok is None and b"call it on a tensor with ':'" in err, (name, err)
