"""The tensor module: tensor helpers, image conversion, detection and OCR post-processing.

The Python form of the Lua module's "other half" (SPEC §12): numpy arrays (or
``ortsession.Tensor``, read zero-copy) in, numpy arrays out, 0-based indices, ``stop``
exclusive. Import it explicitly (``import ortsession.ops as ops``); ``import ortsession`` does
not load it, and Pillow (the ``image`` extra) is imported only when an image function runs::

    import numpy as np
    import ortsession.ops as ops

    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]], dtype=np.float32)
    scores = np.array([0.9, 0.8, 0.7], dtype=np.float32)
    ops.nms(boxes, scores, iou_threshold=0.5)  # array([0, 2])

See ``docs/tensor-module.md`` for every function and the Lua spelling of each.
"""

from __future__ import annotations

import contextlib

from ._boxes import box_iou, box_points, nms, rotated_iou, rotated_nms, xywh_to_xyxy, xyxy_to_xywh
from ._decode import (
    Decoder,
    Detections,
    create_decoder,
    decode_dense_detection,
    decode_matrix_candidates,
    decode_yolo,
    decode_yolo_obb,
    obb_records_from_rows,
    points_to_records,
    records_from_boxes,
)
from ._image import ImageInfo, image_from_tensor, load_image, tensor_from_image, tensor_from_images
from ._keypoints import (
    Tracker,
    clip_boxes,
    clip_keypoints,
    reshape_keypoints,
    scale_boxes,
    scale_keypoints,
    scale_points,
    tracker,
)
from ._masks import (
    Mask,
    crop_masks_by_boxes,
    mask_iou,
    mask_to_polygon,
    project_masks,
    proto_masks,
    resize_masks,
    threshold_masks,
)
from ._methods import (
    Sorted,
    add,
    argmax,
    clamp,
    clone,
    concat,
    copy_from_bytes,
    div,
    dot,
    exp,
    fill,
    flatten,
    gather,
    get,
    info,
    matmul,
    max,
    mean,
    min,
    mul,
    normalize,
    reshape,
    select,
    set,
    sigmoid,
    slice,
    softmax,
    sort,
    squeeze,
    stack,
    sub,
    sum,
    to,
    topk,
    transpose,
    unsqueeze,
    where,
)
from ._text import ctc_greedy_decode, sample_logits

__all__ = [
    # tensor methods
    "info", "get", "set", "fill", "clone", "copy_from_bytes", "to",
    "reshape", "transpose", "flatten", "squeeze", "unsqueeze", "slice", "select", "gather",
    "add", "sub", "mul", "div", "clamp", "sigmoid", "exp", "matmul", "dot",
    "argmax", "sum", "mean", "max", "min", "softmax", "normalize", "sort", "topk", "Sorted",
    # module helpers
    "where", "concat", "stack",
    # images
    "tensor_from_image", "tensor_from_images", "image_from_tensor", "load_image", "ImageInfo",
    # boxes and NMS
    "nms", "rotated_nms", "box_points", "xywh_to_xyxy", "xyxy_to_xywh", "rotated_iou", "box_iou",
    # decoding
    "create_decoder", "Decoder", "Detections", "decode_yolo", "decode_yolo_obb",
    "decode_matrix_candidates", "decode_dense_detection", "records_from_boxes",
    "obb_records_from_rows", "points_to_records",
    # masks
    "threshold_masks", "crop_masks_by_boxes", "resize_masks", "mask_iou", "mask_to_polygon",
    "proto_masks", "project_masks", "Mask",
    # keypoints and tracking
    "reshape_keypoints", "scale_boxes", "clip_boxes", "scale_points", "scale_keypoints",
    "clip_keypoints", "tracker", "Tracker",
    # text and logits
    "ctc_greedy_decode", "sample_logits",
]

for _name in __all__:
    _obj = globals()[_name]
    if getattr(_obj, "__module__", "").startswith(__name__ + "._"):
        with contextlib.suppress(AttributeError, TypeError):
            _obj.__module__ = __name__
