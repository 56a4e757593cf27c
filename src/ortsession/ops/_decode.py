"""Detector output decoding: YOLO (boxes, oriented boxes), matrices from a schema, dense grids.

A detector's raw output is a matrix of candidates (one row per anchor/cell) or its transpose
(YOLOv8: ``[1, 4 + classes, 8400]``). Decoding turns it into candidates above a score threshold
(:class:`Detections`): boxes, scores, class ids, the matrix rows they came from, and the
indices NMS keeps. Class ids are 0-based class numbers (positions among the class columns).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Final

import numpy as np

from ortsession._errors import OptionError, TensorError

from ._boxes import box_corners, nms, rotated_nms, xywh_to_xyxy
from ._common import (
    Array,
    as_array,
    float_array,
    index_text,
    merge_options,
    opt_bool,
    opt_choice,
    opt_float,
    opt_int,
    shape_text,
    show,
)
from ._keypoints import scale_boxes, transform_parts

__all__ = ["Decoder", "Detections", "create_decoder", "decode_dense_detection",
           "decode_matrix_candidates", "decode_yolo", "decode_yolo_obb",
           "obb_records_from_rows", "points_to_records", "records_from_boxes"]

SCHEMA_FIELDS: Final = frozenset({
    "task", "prediction_layout", "box_format", "score_mode", "objectness_index", "class_start",
    "class_end", "angle_index", "box_indices", "classification_mode", "class_count",
})
DECODE_OPTIONS: Final = frozenset({
    "score_threshold", "iou_threshold", "nms", "class_aware", "top_k", "transform",
    "batch_index",
})
_TASKS: Final = {"detect": "detect", "detection": "detect", "obb": "obb",
                 "classify": "classify", "classification": "classify"}
_LAYOUTS: Final = {"auto": "auto", "rows": "rows", "candidates_first": "rows",
                   "anchors_first": "rows", "nc": "rows", "columns": "columns",
                   "channels_first": "columns", "attributes_first": "columns", "cn": "columns"}
_BOX_FORMATS: Final = {"cxcywh": "cxcywh", "xywh_center": "cxcywh", "xyxy": "xyxy",
                       "xywh": "xywh", "ltwh": "xywh"}
_SCORE_MODES: Final = {"class_only": "class_only",
                       "objectness_times_class": "objectness_times_class"}
_CLASSIFY_MODES: Final = {"none": "none", "raw": "none", "softmax": "softmax",
                          "sigmoid": "sigmoid"}


@dataclass(frozen=True)
class Detections:
    """Candidates decoded from a detector output.

    ``boxes``/``scores``/``class_ids``/``selected_rows`` (and ``angles`` for oriented boxes)
    have one entry per candidate above the score threshold, best score first;
    ``keep_indices`` are the candidates NMS keeps (all of them when NMS is off).
    """

    boxes: Array
    """``[K, 4]`` ``[x1, y1, x2, y2]`` (``[K, 5]`` ``[cx, cy, w, h, angle]`` for OBB), float32."""
    scores: Array
    """``[K]`` float32 scores."""
    class_ids: Array
    """``[K]`` int64 class numbers (0-based)."""
    keep_indices: Array
    """int64 0-based indices into the candidates, kept by NMS, best first."""
    selected_rows: Array
    """``[K]`` int64 0-based rows of the prediction matrix the candidates come from."""
    angles: Array | None = field(default=None)
    """``[K]`` angles in radians (oriented boxes only)."""

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a dict (``angles`` only when present)."""
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        if d["angles"] is None:
            del d["angles"]
        return d


def _matrix(output: Any, layout: str, batch_index: int, name: str = "output") -> Array:
    """Return the ``[candidates, attributes]`` matrix of an output (any layout, batch)."""
    arr = float_array(output, name, ndim=(2, 3))
    if arr.ndim == 3:
        if not 0 <= batch_index < arr.shape[0]:
            raise TensorError(f"{name}: batch_index {batch_index} out of range for a batch of "
                              f"{arr.shape[0]}")
        arr = arr[batch_index]
    if layout == "columns" or (layout == "auto" and arr.shape[0] <= arr.shape[1]):
        arr = arr.T
    return arr


def _schema(schema: Mapping[str, Any] | None, where: str) -> dict[str, Any]:
    s = merge_options(schema, {}, where, SCHEMA_FIELDS)
    s["task"] = opt_choice(s, "task", "detect", where, _TASKS)
    s["prediction_layout"] = opt_choice(s, "prediction_layout", "auto", where, _LAYOUTS)
    s["box_format"] = opt_choice(s, "box_format", "cxcywh", where, _BOX_FORMATS)
    s["score_mode"] = opt_choice(s, "score_mode", "class_only", where, _SCORE_MODES)
    s["classification_mode"] = opt_choice(s, "classification_mode", "none", where,
                                          _CLASSIFY_MODES)
    for key in ("objectness_index", "class_start", "class_end", "angle_index", "class_count"):
        if key in s:
            s[key] = opt_int(s, key, None, where, low=0)
    if "box_indices" in s:
        bi = s["box_indices"]
        if (not isinstance(bi, (list, tuple)) or len(bi) != 4
                or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0
                           for v in bi)):
            raise OptionError(f"{where}: box_indices must be 4 column indices, got {show(bi)}")
        s["box_indices"] = [int(v) for v in bi]
    return s


def _columns(s: Mapping[str, Any], width: int, where: str) -> tuple[list[int], int, int,
                                                                     int | None, int | None]:
    """Box columns, class column range, objectness and angle columns of a schema."""
    obj = s.get("objectness_index")
    if s["score_mode"] == "objectness_times_class" and obj is None:
        obj = 4
    angle = s.get("angle_index")
    if s["task"] == "obb" and angle is None:
        angle = width - 1
    start = s.get("class_start", 5 if obj == 4 else 4)
    end = s.get("class_end")
    if end is None:
        end = start + s["class_count"] if "class_count" in s else (
            angle if angle is not None and angle >= start else width)
    box = s.get("box_indices", [0, 1, 2, 3])
    used = [*box, *(x for x in (obj, angle) if x is not None)]
    if not 0 <= start < end <= width or any(c >= width for c in used):
        cols = ", ".join(index_text(c) for c in box)
        raise TensorError(f"{where}: the schema's columns (boxes [{cols}], classes "
                          f"{index_text(start)}..{index_text(end - 1)}) do not fit rows of "
                          f"{width} values")
    return box, start, end, obj, angle


def _box_xyxy(m: Array, box: list[int], fmt: str) -> Array:
    b = m[:, box]
    if fmt == "cxcywh":
        return xywh_to_xyxy(b)
    if fmt == "xywh":
        return np.concatenate([b[:, :2], b[:, :2] + b[:, 2:]], axis=1)
    return b


def decode_matrix_candidates(output: Any, schema: Mapping[str, Any] | None = None,
                             opts: Mapping[str, Any] | None = None, /,
                             **fields_: Any) -> Detections:
    """Decode a detector's prediction matrix as a schema describes it.

    Args:
        output: ``[N, C]``, ``[C, N]`` or ``[B, ., .]`` (``batch_index`` picks one).
        schema: ``task`` (``detect``/``obb``), ``prediction_layout`` (``auto``: the longer
            dimension holds candidates; ``rows``; ``columns``), ``box_format`` (``cxcywh``,
            ``xyxy``, ``xywh`` top-left), ``box_indices`` (default 0..3), ``score_mode``
            (``class_only``, ``objectness_times_class``), ``objectness_index`` (default 4 with
            objectness), ``class_start`` (4, or 5 with objectness), ``class_end`` (exclusive;
            default: up to the angle or the end), ``angle_index`` (``obb``: default last).
        opts: ``score_threshold`` (0.25), ``iou_threshold`` (0.45), ``nms`` (``True``),
            ``class_aware`` (``True``), ``top_k`` (300 kept at most), ``transform`` (the image
            info: boxes come back in source coordinates), ``batch_index`` (0).
        **fields_: options as keywords.
    """
    where = "decode_matrix_candidates"
    s = _schema(schema, where)
    o = merge_options(opts, fields_, where, DECODE_OPTIONS)
    return _decode(output, s, o, where)


def _decode(output: Any, s: Mapping[str, Any], o: Mapping[str, Any], where: str) -> Detections:
    thr = opt_float(o, "score_threshold", 0.25, where)
    top_k = opt_int(o, "top_k", 300, where, low=1)
    batch = opt_int(o, "batch_index", 0, where, low=0) or 0
    m = _matrix(output, s["prediction_layout"], batch)
    box, start, end, obj, angle = _columns(s, m.shape[1], where)
    cls = m[:, start:end]
    class_ids = np.argmax(cls, axis=1) if cls.shape[0] else np.zeros(0, dtype=np.int64)
    scores = cls[np.arange(cls.shape[0]), class_ids] if cls.shape[0] else np.zeros(0)
    if obj is not None:
        scores = scores * m[:, obj]
    rows = np.flatnonzero(scores >= thr)
    rows = rows[np.argsort(-scores[rows], kind="stable")]
    sel = m[rows]
    scores = scores[rows].astype(np.float32)
    class_ids = class_ids[rows].astype(np.int64)
    angles = None
    if s["task"] == "obb":
        assert angle is not None
        boxes = np.concatenate([sel[:, box], sel[:, angle:angle + 1]], axis=1)
        angles = sel[:, angle].astype(np.float32)
        if "transform" in o:
            boxes = _scale_rotated(boxes, o["transform"])
    else:
        boxes = _box_xyxy(sel, box, s["box_format"])
        if "transform" in o:
            boxes = scale_boxes(boxes, o["transform"])
    boxes = boxes.astype(np.float32)
    if opt_bool(o, "nms", True, where):
        nms_opts = {"iou_threshold": opt_float(o, "iou_threshold", 0.45, where, low=0, high=1),
                    "top_k": top_k}
        if s["task"] == "obb":
            keep = rotated_nms(boxes, scores, nms_opts)
        else:
            keep = nms(boxes, scores, nms_opts, class_aware=opt_bool(o, "class_aware", True,
                                                                     where),
                       class_ids=class_ids)
    else:
        keep = np.arange(min(len(rows), top_k or len(rows)), dtype=np.int64)
    return Detections(boxes, scores, class_ids, keep, rows.astype(np.int64), angles)


def _scale_rotated(boxes: Array, transform: Any) -> Array:
    sx, sy, ox, oy, cx, cy = transform_parts(transform)
    out = np.array(boxes, dtype=np.float64)
    out[:, 0] = (out[:, 0] - ox) / sx + cx
    out[:, 1] = (out[:, 1] - oy) / sy + cy
    out[:, 2] /= sx
    out[:, 3] /= sy
    return out


def decode_yolo(output: Any, opts: Mapping[str, Any] | None = None, /,
                **fields_: Any) -> Detections:
    """Decode a YOLO detector output (v8/v11 ``[1, 4+nc, N]``, v5 ``[1, N, 5+nc]``, …).

    Options: those of :func:`decode_matrix_candidates` plus its schema fields (``score_mode``
    ``objectness_times_class`` for YOLOv5-style outputs, ``class_start``…).
    """
    where = "decode_yolo"
    o = merge_options(opts, fields_, where, DECODE_OPTIONS | SCHEMA_FIELDS)
    s = _schema({k: v for k, v in o.items() if k in SCHEMA_FIELDS}, where)
    s["task"] = "detect"
    return _decode(output, s, {k: v for k, v in o.items() if k in DECODE_OPTIONS}, where)


def decode_yolo_obb(output: Any, opts: Mapping[str, Any] | None = None, /,
                    **fields_: Any) -> Detections:
    """Decode a YOLO-OBB output ``[1, 4+nc+1, N]`` (``cx, cy, w, h``, classes, angle).

    Boxes come back as ``[K, 5]`` ``[cx, cy, w, h, angle]``; NMS is rotated.
    """
    where = "decode_yolo_obb"
    o = merge_options(opts, fields_, where, DECODE_OPTIONS | SCHEMA_FIELDS)
    s = _schema({k: v for k, v in o.items() if k in SCHEMA_FIELDS}, where)
    s["task"] = "obb"
    return _decode(output, s, {k: v for k, v in o.items() if k in DECODE_OPTIONS}, where)


_DENSE_OPTIONS: Final = frozenset({
    "strides", "decode_width", "decode_height", "box_encoding", "score_threshold",
    "iou_threshold", "nms", "class_aware", "top_k", "objectness_index", "class_start",
    "apply_sigmoid", "transform",
})


def decode_dense_detection(output: Any, opts: Mapping[str, Any] | None = None, /,
                           **fields_: Any) -> Any:
    """Decode a dense (anchor-free grid) detector output such as YOLOX's.

    ``output`` is ``[R, C]`` or ``[N, R, C]``; rows run over the grid cells of each stride in
    turn (row-major, ``decode_width/stride x decode_height/stride`` cells per stride). Columns:
    ``dx, dy, dw, dh``, objectness (``objectness_index``, default 4; ``None`` to omit), class
    scores from ``class_start`` (default 5). ``box_encoding = "grid_center_log_wh"``: centre
    ``((gx + dx) * stride, (gy + dy) * stride)``, size ``(exp(dw) * stride, exp(dh) * stride)``.

    Options: ``strides``, ``decode_width``, ``decode_height`` (required, positive integers),
    ``score_threshold`` (0.25), ``iou_threshold`` (0.45), ``nms`` (``True``), ``class_aware``
    (``True``), ``top_k`` (300), ``apply_sigmoid`` (``False``), ``transform``.

    Returns:
        ``{"boxes": [K, 4] xyxy, "scores": [K], "labels": [K] int64}`` after NMS, best first;
        a list of those for ``[N, R, C]``.
    """
    where = "decode_dense_detection"
    o = merge_options(opts, fields_, where, _DENSE_OPTIONS)
    strides = o.get("strides")
    if (not isinstance(strides, (list, tuple)) or not strides
            or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0
                       for v in strides)):
        raise OptionError(f"{where}: option strides must be a list of positive integers, got "
                          f"{show(strides)}")
    width = opt_int(o, "decode_width", None, where, low=1)
    height = opt_int(o, "decode_height", None, where, low=1)
    if width is None or height is None:
        raise OptionError(f"{where}: options decode_width and decode_height are required "
                          f"(the model input size)")
    opt_choice(o, "box_encoding", "grid_center_log_wh", where,
               {"grid_center_log_wh": "grid_center_log_wh"})
    arr = float_array(output, "output", ndim=(2, 3))
    grids, steps = [], []
    for st in strides:
        gw, gh = width // st, height // st
        gy, gx = np.meshgrid(np.arange(gh), np.arange(gw), indexing="ij")
        grids.append(np.stack([gx.reshape(-1), gy.reshape(-1)], axis=1))
        steps.append(np.full(gw * gh, st))
    grid = np.concatenate(grids).astype(np.float32)
    step = np.concatenate(steps).astype(np.float32)[:, None]
    if arr.shape[-2] != grid.shape[0]:
        raise TensorError(f"{where}: output has {arr.shape[-2]} rows, the strides "
                          f"{show(list(strides))} over {width}x{height} give {grid.shape[0]} "
                          f"cells")
    if arr.ndim == 3:
        return [_dense_one(a, grid, step, o, where) for a in arr]
    return _dense_one(arr, grid, step, o, where)


def _dense_one(m: Array, grid: Array, step: Array, o: Mapping[str, Any],
               where: str) -> dict[str, Array]:
    if opt_bool(o, "apply_sigmoid", False, where):
        m = m.copy()
        m[:, 4:] = 1 / (1 + np.exp(-m[:, 4:]))
    obj_given = "objectness_index" in o
    obj = opt_int(o, "objectness_index", 4, where, low=0) if obj_given else 4
    start = opt_int(o, "class_start", 5 if obj is not None else 4, where, low=0)
    assert start is not None
    if start >= m.shape[1]:
        raise TensorError(f"{where}: class_start is past the {m.shape[1]} columns")
    centre = (m[:, 0:2] + grid) * step
    with np.errstate(over="ignore"):
        size = np.exp(m[:, 2:4]) * step
    cls = m[:, start:]
    labels = np.argmax(cls, axis=1)
    scores = cls[np.arange(cls.shape[0]), labels]
    if obj is not None:
        scores = scores * m[:, obj]
    boxes = np.concatenate([centre - size / 2, centre + size / 2], axis=1)
    s = {"task": "detect", "prediction_layout": "rows", "box_format": "xyxy",
         "score_mode": "class_only", "classification_mode": "none", "class_start": 4,
         "class_end": 4 + 1}
    packed = np.concatenate([boxes, scores[:, None]], axis=1)
    oo = {k: v for k, v in o.items() if k in DECODE_OPTIONS}
    det = _decode(packed, s, oo, where)
    keep = det.keep_indices
    return {"boxes": det.boxes[keep], "scores": det.scores[keep],
            "labels": labels[det.selected_rows[keep]].astype(np.int64)}


class Decoder:
    """A decoder made from a schema by :func:`create_decoder`."""

    def __init__(self, schema: Mapping[str, Any] | None) -> None:
        """Check ``schema`` once (see :func:`decode_matrix_candidates` for its fields)."""
        self._schema = _schema(schema, "create_decoder")
        self._given = dict(schema or {})

    def task(self) -> str:
        """Return the task: ``"detect"``, ``"obb"`` or ``"classify"``."""
        return str(self._schema["task"])

    def schema(self) -> dict[str, Any]:
        """Return the schema as given."""
        return dict(self._given)

    def decode(self, output: Any, opts: Mapping[str, Any] | None = None, /,
               **fields_: Any) -> Any:
        """Decode one output: :class:`Detections` (detect, obb) or a classification dict.

        A classification is ``{"class_id", "score", "class_ids", "scores"}`` (the ``top_k``,
        default 5, best classes), after ``classification_mode`` (``none``, ``softmax``,
        ``sigmoid``).
        """
        where = "decoder:decode"
        if self._schema["task"] != "classify":
            o = merge_options(opts, fields_, where, DECODE_OPTIONS)
            return _decode(output, self._schema, o, where)
        o = merge_options(opts, fields_, where, {"top_k", "batch_index"})
        arr = float_array(output, "output", ndim=(1, 2))
        if arr.ndim == 2:
            batch = opt_int(o, "batch_index", 0, where, low=0) or 0
            if batch >= arr.shape[0]:
                raise TensorError(f"output: batch_index {batch} out of range for a batch of "
                                  f"{arr.shape[0]}")
            arr = arr[batch]
        mode = self._schema["classification_mode"]
        if mode == "softmax":
            e = np.exp(arr - arr.max())
            arr = e / e.sum()
        elif mode == "sigmoid":
            arr = 1 / (1 + np.exp(-arr))
        k = min(opt_int(o, "top_k", 5, where, low=1) or 5, arr.shape[0])
        order = np.argsort(-arr, kind="stable")[:k]
        return {"class_id": int(order[0]), "score": float(arr[order[0]]),
                "class_ids": order.astype(np.int64), "scores": arr[order].astype(np.float32)}


def create_decoder(schema: Mapping[str, Any] | None = None) -> Decoder:
    """Create a :class:`Decoder` for outputs described by ``schema``."""
    return Decoder(schema)


def _keep(keep_indices: Any, n: int) -> Array:
    if keep_indices is None:
        return np.arange(n, dtype=np.int64)
    k = as_array(keep_indices, "keep_indices", ndim=(0, 1)).reshape(-1).astype(np.int64)
    if k.size and (k.min() < 0 or k.max() >= n):
        raise TensorError(f"keep_indices: indices must lie within the {n} rows")
    return k


def _vector(value: Any, n: int, name: str) -> Array:
    arr = as_array(value, name, ndim=(1, 2)).reshape(-1)
    if arr.shape[0] != n:
        raise TensorError(f"{name}: expected {n} values (one per box), got {arr.shape[0]}")
    return arr


def records_from_boxes(boxes: Any, scores: Any, class_ids: Any,
                       keep_indices: Any = None) -> list[dict[str, Any]]:
    """Build one record per kept box.

    Records have ``box``, ``score``, ``class_id``, ``row_index`` (0-based), ``x1``, ``y1``,
    ``x2``, ``y2``, ``width``, ``height``, ``cx``, ``cy``.
    """
    b = float_array(boxes, "boxes", ndim=(1, 2)).astype(np.float64)
    b = b.reshape(1, -1) if b.ndim == 1 else b
    if b.shape[1] != 4:
        raise TensorError(f"boxes: expected [N, 4] boxes, got {shape_text(b.shape)}")
    n = b.shape[0]
    s = _vector(scores, n, "scores").astype(np.float64)
    c = _vector(class_ids, n, "class_ids").astype(np.int64)
    keep = _keep(keep_indices, n)
    kb = b[keep]
    wh = kb[:, 2:] - kb[:, :2]
    ctr = (kb[:, :2] + kb[:, 2:]) / 2
    cols = np.concatenate([kb, wh, ctr], axis=1).tolist()
    return [{"box": row[:4], "score": sc, "class_id": ci, "row_index": ri,
             "x1": row[0], "y1": row[1], "x2": row[2], "y2": row[3],
             "width": row[4], "height": row[5], "cx": row[6], "cy": row[7]}
            for row, sc, ci, ri in zip(cols, s[keep].tolist(), c[keep].tolist(),
                                       keep.tolist())]


_OBB_OPTIONS: Final = frozenset({"x_index", "y_index", "width_index", "height_index"})


def obb_records_from_rows(rows: Any, scores: Any, class_ids: Any, angles: Any = None,
                          keep_indices: Any = None, opts: Mapping[str, Any] | None = None,
                          ) -> list[dict[str, Any]]:
    """Build one record per kept oriented box.

    Records have ``cx``, ``cy``, ``width``, ``height``, ``angle``, ``box`` ``[cx, cy, w, h,
    angle]``, ``points`` (4 corners), ``score``, ``class_id``, ``row_index``.

    ``rows`` hold the box values (``x_index``, ``y_index``, ``width_index``, ``height_index``:
    default 0..3); ``angles`` default to column 4 of the rows.
    """
    where = "obb_records_from_rows"
    o = merge_options(opts, {}, where, _OBB_OPTIONS)
    m = float_array(rows, "rows", ndim=(1, 2)).astype(np.float64)
    m = m.reshape(1, -1) if m.ndim == 1 else m
    n = m.shape[0]
    idx = [opt_int(o, k, d, where, low=0) or 0 for k, d in
           (("x_index", 0), ("y_index", 1), ("width_index", 2), ("height_index", 3))]
    if any(i >= m.shape[1] for i in idx):
        raise TensorError(f"rows: the box columns do not fit rows of {m.shape[1]} values")
    if angles is None:
        if m.shape[1] < 5:
            raise TensorError(f"{where}: no angles given and the rows have no column 5")
        ang = m[:, 4]
    else:
        ang = _vector(angles, n, "angles").astype(np.float64)
    r = np.concatenate([m[:, idx], ang[:, None]], axis=1)
    s = _vector(scores, n, "scores").astype(np.float64)
    c = _vector(class_ids, n, "class_ids").astype(np.int64)
    keep = _keep(keep_indices, n)
    pts = box_corners(r[keep]).tolist()
    return [{"cx": row[0], "cy": row[1], "width": row[2], "height": row[3], "angle": row[4],
             "box": row, "points": p, "score": sc, "class_id": ci, "row_index": ri}
            for row, p, sc, ci, ri in zip(r[keep].tolist(), pts, s[keep].tolist(),
                                          c[keep].tolist(), keep.tolist())]


_POINTS_OPTIONS: Final = frozenset({"point_count", "keypoint_count", "point_dim",
                                    "keypoint_dim"})


def points_to_records(points: Any, opts: Mapping[str, Any] | None = None, /,
                      **fields_: Any) -> list[list[dict[str, float]]]:
    """Keypoints as records: per row (object), a list of ``{"x", "y"[, "score"[, ...]]}``.

    ``points``: ``[N, K, D]``, ``[K, D]`` (one object) or ``[N, K*D]`` with ``point_count``
    (``keypoint_count``) or ``point_dim`` (``keypoint_dim``, default 3). The third value of a
    point is its ``score``; further values are ``v4``, ``v5``….
    """
    where = "points_to_records"
    o = merge_options(opts, fields_, where, _POINTS_OPTIONS)
    p = float_array(points, "points", ndim=(2, 3)).astype(np.float64)
    count = opt_int(o, "point_count", o.get("keypoint_count"), where, low=1)
    dim = opt_int(o, "point_dim", o.get("keypoint_dim"), where, low=2)
    if p.ndim == 2:
        if count is None and dim is None and p.shape[1] <= 3:
            p = p[None]
        else:
            width = p.shape[1]
            d = dim if dim is not None else (width // count if count else 3)
            if d < 2 or width % d or (count is not None and count * d != width):
                raise TensorError(f"{where}: rows of {width} values do not split into "
                                  f"points (count {show(count)}, dim {show(d)})")
            p = p.reshape(p.shape[0], width // d, d)
    if p.shape[2] < 2:
        raise TensorError(f"points: a point needs x and y, got {shape_text(p.shape)}")
    names = ["x", "y", "score"] + [f"v{i + 1}" for i in range(3, p.shape[2])]
    return [[dict(zip(names, pt)) for pt in obj] for obj in p.tolist()]
