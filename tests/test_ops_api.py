"""The public surface of ortsession.ops, and import hygiene (lazy ops, lazy Pillow)."""

from __future__ import annotations

import inspect

import ortsession.ops as ops
from fresh_python import output_of

EXPECTED = {
    "info", "get", "set", "fill", "clone", "copy_from_bytes", "to", "reshape", "transpose",
    "flatten", "squeeze", "unsqueeze", "slice", "select", "gather", "add", "sub", "mul", "div",
    "clamp", "sigmoid", "exp", "matmul", "dot", "argmax", "sum", "mean", "max", "min",
    "softmax", "normalize", "sort", "topk", "Sorted", "where", "concat", "stack",
    "tensor_from_image", "tensor_from_images", "image_from_tensor", "load_image", "ImageInfo",
    "nms", "rotated_nms", "box_points", "xywh_to_xyxy", "xyxy_to_xywh", "rotated_iou",
    "box_iou", "create_decoder", "Decoder", "Detections", "decode_yolo", "decode_yolo_obb",
    "decode_matrix_candidates", "decode_dense_detection", "records_from_boxes",
    "obb_records_from_rows", "points_to_records", "threshold_masks", "crop_masks_by_boxes",
    "resize_masks", "mask_iou", "mask_to_polygon", "proto_masks", "project_masks", "Mask",
    "reshape_keypoints", "scale_boxes", "clip_boxes", "scale_points", "scale_keypoints",
    "clip_keypoints", "tracker", "Tracker", "ctc_greedy_decode", "sample_logits",
}


def test_all_is_pinned_and_documented() -> None:
    assert set(ops.__all__) == EXPECTED
    assert len(ops.__all__) == len(EXPECTED)
    for name in ops.__all__:
        obj = getattr(ops, name)
        assert obj.__module__ == "ortsession.ops", name
        assert inspect.getdoc(obj), name
        if inspect.isclass(obj):
            for attr, member in vars(obj).items():
                if not attr.startswith("_") and callable(member):
                    assert inspect.getdoc(member), f"{name}.{attr}"


def test_import_ortsession_loads_neither_ops_nor_pillow() -> None:
    code = ("import sys, ortsession\n"
            "print('ortsession.ops' in sys.modules, 'PIL' in sys.modules)\n"
            "import ortsession.ops\n"
            "print('PIL' in sys.modules)\n"
            "ortsession.ops.nms([[0, 0, 1, 1]], [1.0])\n"
            "print('PIL' in sys.modules)\n")
    out = output_of(code)
    assert out.split() == ["False", "False", "False", "False"]
