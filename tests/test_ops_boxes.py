"""Boxes and NMS against straightforward loop implementations and hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ortsession as ort
import ortsession.ops as ops


def iou_loop(a: list[float], b: list[float]) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def nms_loop(boxes: list[list[float]], scores: list[float], thr: float,
             score_thr: float = -math.inf, classes: list[int] | None = None) -> list[int]:
    order = sorted(range(len(boxes)), key=lambda i: -scores[i])
    keep: list[int] = []
    for i in order:
        if scores[i] < score_thr:
            continue
        if all(iou_loop(boxes[i], boxes[j]) <= thr or (classes is not None
                                                       and classes[i] != classes[j])
               for j in keep):
            keep.append(i)
    return keep


def test_iou_hand_computed() -> None:
    a = [[0, 0, 2, 2]]
    assert ops.box_iou(a, [[1, 1, 3, 3]])[0, 0] == pytest.approx(1 / 7)
    assert ops.box_iou(a, [[0, 0, 2, 2]])[0, 0] == 1
    assert ops.box_iou(a, [[2, 0, 4, 2]])[0, 0] == 0  # touching edges
    assert ops.box_iou(a, [[0, 0, 1, 1]])[0, 0] == pytest.approx(0.25)


def test_nms_hand_computed() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60], [0, 0, 10, 9]],
                     dtype=np.float32)
    scores = np.array([0.9, 0.8, 0.7, 0.95], dtype=np.float32)
    assert ops.nms(boxes, scores, iou_threshold=0.5).tolist() == [3, 2]
    assert ops.nms(boxes, scores, {"iou_threshold": 0.95}).tolist() == [3, 0, 1, 2]
    assert ops.nms(boxes, scores, iou_threshold=0.5, top_k=1).tolist() == [3]
    assert ops.nms(boxes, scores, iou_threshold=0.5, score_threshold=0.96).tolist() == []
    keep = ops.nms(boxes, scores, iou_threshold=0.5, class_aware=True,
                   class_ids=np.array([0, 1, 0, 0]))
    assert keep.tolist() == [3, 1, 2]
    assert keep.dtype == np.int64
    assert ops.nms(np.zeros((0, 4)), np.zeros(0)).tolist() == []


def test_nms_errors() -> None:
    with pytest.raises(ort.TensorError, match=r"shape \[N, 4\]"):
        ops.nms(np.zeros((3, 5)), np.zeros(3))
    with pytest.raises(ort.TensorError, match="expected 3 scores"):
        ops.nms(np.zeros((3, 4)), np.zeros(2))
    with pytest.raises(ort.OptionError, match="did you mean iou_threshold"):
        ops.nms(np.zeros((3, 4)), np.zeros(3), iou_treshold=0.4)
    with pytest.raises(ort.OptionError, match=r"iou_threshold must be >= 0.0 and <= 1.0"):
        ops.nms(np.zeros((3, 4)), np.zeros(3), iou_threshold=2)
    with pytest.raises(ort.TensorError, match="needs class_ids"):
        ops.nms(np.zeros((3, 4)), np.zeros(3), class_aware=True)


boxes_st = st.lists(st.tuples(st.floats(0, 50), st.floats(0, 50), st.floats(1, 30),
                              st.floats(1, 30), st.floats(0, 1), st.integers(0, 2)),
                    min_size=0, max_size=30)


@settings(max_examples=60, deadline=None)
@given(boxes_st, st.floats(0.1, 0.9))
def test_nms_matches_the_loop(rows: list[tuple[float, ...]], thr: float) -> None:
    boxes = [[x, y, x + w, y + h] for x, y, w, h, _, _ in rows]
    scores = [s for *_, s, _ in rows]
    classes = [c for *_, c in rows]
    # distinct scores: ties may be ordered differently by two correct implementations
    scores = [s + i * 1e-6 for i, s in enumerate(scores)]
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    s = np.asarray(scores, dtype=np.float64)
    assert ops.nms(b, s, iou_threshold=thr).tolist() == nms_loop(boxes, scores, thr)
    assert ops.nms(b, s, iou_threshold=thr, score_threshold=0.5).tolist() == nms_loop(
        boxes, scores, thr, 0.5)
    assert ops.nms(b, s, iou_threshold=thr, class_aware=True,
                   class_ids=np.asarray(classes)).tolist() == nms_loop(boxes, scores, thr,
                                                                        classes=classes)


def test_box_conversions() -> None:
    xyxy = ops.xywh_to_xyxy(np.array([[5, 5, 10, 4]], dtype=np.float32))
    assert xyxy.tolist() == [[0, 3, 10, 7]]
    assert ops.xyxy_to_xywh(xyxy).tolist() == [[5, 5, 10, 4]]


def raster_iou(a: list[float], b: list[float], n: int = 1500) -> float:
    """IoU of two rotated boxes by counting grid points inside each (an independent method)."""
    def inside(box: list[float], x: np.ndarray, y: np.ndarray) -> np.ndarray:
        cx, cy, w, h, ang = box
        dx, dy = x - cx, y - cy
        u = dx * math.cos(ang) + dy * math.sin(ang)
        v = -dx * math.sin(ang) + dy * math.cos(ang)
        return (np.abs(u) <= w / 2) & (np.abs(v) <= h / 2)

    corners = np.concatenate([ops.box_points(a), ops.box_points(b)])
    lo, hi = corners.min(axis=0), corners.max(axis=0)
    x, y = np.meshgrid(np.linspace(lo[0], hi[0], n), np.linspace(lo[1], hi[1], n))
    ia, ib = inside(a, x, y), inside(b, x, y)
    return float((ia & ib).sum() / max((ia | ib).sum(), 1))


def test_rotated_iou_hand_computed() -> None:
    assert ops.rotated_iou([0, 0, 2, 2, 0], [1, 0, 2, 2, 0]) == pytest.approx(1 / 3)
    # a square and itself turned 45 degrees: a regular octagon
    assert ops.rotated_iou([0, 0, 2, 2, 0], [0, 0, 2, 2, math.pi / 4]) == pytest.approx(
        math.sqrt(2) / 2)
    assert ops.rotated_iou([0, 0, 2, 2, 0], [0, 0, 2, 2, math.pi / 2]) == pytest.approx(1)
    assert ops.rotated_iou([0, 0, 2, 2, 0], [5, 5, 1, 1, 0.3]) == 0
    # shared (collinear) edges, at an angle where floating point makes them "almost" parallel
    assert ops.rotated_iou([1, 0, 1, 3, 2.5], [1, 0, 1, 1, 2.5]) == pytest.approx(1 / 3)
    m = ops.rotated_iou(np.array([[0, 0, 2, 2, 0]]), np.array([[0, 0, 2, 2, 0], [9, 9, 1, 1, 0]]))
    assert m.shape == (1, 2)


@settings(max_examples=30, deadline=None)
@given(st.tuples(st.floats(-3, 3), st.floats(-3, 3), st.floats(1, 6), st.floats(1, 6),
                 st.floats(-3, 3)),
       st.tuples(st.floats(-3, 3), st.floats(-3, 3), st.floats(1, 6), st.floats(1, 6),
                 st.floats(-3, 3)))
def test_rotated_iou_matches_rasterisation(a: tuple[float, ...], b: tuple[float, ...]) -> None:
    assert ops.rotated_iou(list(a), list(b)) == pytest.approx(raster_iou(list(a), list(b)),
                                                              abs=0.02)


def test_rotated_nms_and_box_points() -> None:
    boxes = np.array([[0, 0, 4, 2, 0], [0.2, 0, 4, 2, 0.1], [0, 0, 4, 2, math.pi / 2],
                      [20, 20, 2, 2, 0]], dtype=np.float32)
    scores = np.array([[0.9], [0.8], [0.85], [0.1]], dtype=np.float32)
    # box 2 (a quarter turn) overlaps box 0 by 4/12 = 1/3
    assert ops.rotated_nms(boxes, scores, iou_threshold=0.5).tolist() == [0, 2, 3]
    assert ops.rotated_nms(boxes, scores, iou_threshold=0.3).tolist() == [0, 3]
    assert ops.rotated_nms(boxes, scores[:, 0], score_threshold=0.5).tolist() == [0, 2]
    pts = ops.box_points([10, 20, 4, 2, 0])
    assert sorted(map(tuple, pts.tolist())) == [(8, 19), (8, 21), (12, 19), (12, 21)]
    pts = ops.box_points(np.array([[0, 0, 2, 2, math.pi / 4]]))
    assert pts.shape == (1, 4, 2)
    assert np.allclose(np.abs(pts).max(), math.sqrt(2))


@settings(max_examples=40, deadline=None)
@given(boxes_st)
def test_rotated_iou_of_unturned_boxes_is_the_axis_aligned_iou(rows: list[tuple[float, ...]]) -> None:
    if len(rows) < 2:
        return
    xyxy = [[x, y, x + w, y + h] for x, y, w, h, _, _ in rows]
    rot = np.array([[x + w / 2, y + h / 2, w, h, 0.0] for x, y, w, h, _, _ in rows])
    got = ops.rotated_iou(rot, rot)
    want = [[iou_loop(a, b) for b in xyxy] for a in xyxy]
    assert np.allclose(got, want, atol=1e-9)
    assert np.allclose(got, got.T)


@settings(max_examples=30, deadline=None)
@given(boxes_st, st.floats(0.1, 0.9))
def test_rotated_nms_matches_the_loop(rows: list[tuple[float, ...]], thr: float) -> None:
    r = np.array([[x, y, w, h, s * 6 - 3] for x, y, w, h, s, _ in rows]).reshape(-1, 5)
    scores = [i * 1e-3 + c for i, (*_, c) in enumerate(rows)]
    order = sorted(range(len(rows)), key=lambda i: -scores[i])
    keep: list[int] = []
    for i in order:
        if all(ops.rotated_iou(r[i], r[j]) <= thr for j in keep):
            keep.append(i)
    assert ops.rotated_nms(r, np.asarray(scores), iou_threshold=thr).tolist() == keep
