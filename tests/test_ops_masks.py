"""Masks and keypoints/tracking helpers on hand-built cases."""

from __future__ import annotations

import numpy as np
import pytest

import ortsession as ort
import ortsession.ops as ops


def square_mask(h: int, w: int, x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
    m = np.zeros((h, w), dtype=np.float32)
    m[y0:y1, x0:x1] = 1
    return m


def test_threshold_masks_records() -> None:
    masks = np.stack([square_mask(8, 10, 2, 1, 5, 4), np.zeros((8, 10))])
    recs = ops.threshold_masks(masks, 0.5)
    assert [r.pixel_count for r in recs] == [9, 0]
    assert recs[0].bounds == (2, 1, 3, 3) and recs[1].bounds is None
    assert recs[0].to_dict()["bounds"] == {"x": 2, "y": 1, "width": 3, "height": 3}
    assert (recs[0].width, recs[0].height) == (10, 8)


def test_crop_resize_iou() -> None:
    m = np.ones((1, 4, 4), dtype=np.float32)
    cropped = ops.crop_masks_by_boxes(m, [[1, 1, 3, 4]])
    assert cropped[0].sum() == 6 and cropped[0, 0].sum() == 0
    big = ops.resize_masks(square_mask(4, 4, 0, 0, 2, 2), 8, 8)
    assert big.shape == (8, 8) and big.sum() == 16 and big[:4, :4].all()
    a, b = square_mask(4, 4, 0, 0, 2, 2), square_mask(4, 4, 1, 0, 3, 2)
    assert ops.mask_iou(a, b) == pytest.approx(2 / 6)
    assert ops.mask_iou(a, ops.resize_masks(b, 8, 8)) == pytest.approx(2 / 6)
    assert np.allclose(ops.mask_iou(np.stack([a, b]), np.stack([a, b])),
                       [[1, 1 / 3], [1 / 3, 1]])
    rec = ops.threshold_masks(a)[0]
    assert ops.mask_iou(rec, a) == 1


def test_mask_to_polygon() -> None:
    poly = ops.mask_to_polygon(square_mask(10, 10, 2, 3, 7, 8))
    assert sorted(map(tuple, poly)) == [(2, 3), (2, 7), (6, 3), (6, 7)]
    assert ops.mask_to_polygon(np.zeros((3, 3))) == []
    full = ops.mask_to_polygon(square_mask(10, 10, 2, 3, 7, 8), epsilon=0)
    assert len(full) == 16  # every boundary pixel of a 5x5 square


def test_proto_masks() -> None:
    proto = np.zeros((1, 2, 4, 4), dtype=np.float32)
    proto[0, 0] = 10  # prototype 0 everywhere, prototype 1 nowhere
    proto[0, 1] = -10
    recs = ops.proto_masks(proto, [[1, 0], [0, 1]], [[0, 0, 8, 8], [0, 0, 16, 16]], 16, 16)
    assert [r.pixel_count for r in recs] == [64, 0]
    assert recs[0].bounds == (0, 0, 8, 8)
    assert ops.project_masks is ops.proto_masks
    with pytest.raises(ort.TensorError, match=r"\[N, 2\] coefficients"):
        ops.proto_masks(proto, [[1, 0, 0]], [[0, 0, 1, 1]], 16, 16)


def test_keypoints() -> None:
    flat = np.arange(12, dtype=np.float32).reshape(2, 6)
    assert ops.reshape_keypoints(flat).shape == (2, 2, 3)
    assert ops.reshape_keypoints(flat, 3).shape == (2, 3, 2)
    assert ops.reshape_keypoints(ops.reshape_keypoints(flat)).shape == (2, 6)
    assert ops.reshape_keypoints(flat, None, {"keypoint_dim": 2}).shape == (2, 3, 2)
    info = {"scale_x": 2.0, "scale_y": 4.0, "pad_left": 10, "pad_top": 20}
    kp = ops.scale_keypoints(flat, info, keypoint_dim=3)
    assert kp.shape == (2, 6) and kp[0].tolist() == [-5, -4.75, 2, -3.5, -4, 5]
    pts = ops.scale_points(np.array([[12.0, 24.0, 0.7]]), info)
    assert pts.tolist() == [[1, 1, pytest.approx(0.7)]]
    assert ops.clip_keypoints(np.array([[[-1.0, 50.0, 0.5]]]), 10, 20).tolist() == [
        [[0, 20, 0.5]]]
    assert ops.clip_boxes(np.array([[-5.0, 2, 50, 30]]), 40, 20).tolist() == [[0, 2, 40, 20]]
    with pytest.raises(ort.OptionError, match="field scale_x is missing"):
        ops.scale_boxes(np.zeros((1, 4)), {"pad_left": 0})


def test_tracker_keeps_ids() -> None:
    tr = ops.tracker(iou_threshold=0.3, max_age=1, min_hits=2)
    a = [{"box": [0, 0, 10, 10], "score": 0.9, "class_id": 0}]
    first = tr.update(a, 0.0)
    assert [t["id"] for t in first] == [1]  # the first frames report new tracks
    moved = tr.update(np.array([[1, 1, 11, 11, 0.8, 0], [50, 50, 60, 60, 0.7, 1]]), 1.0)
    assert [t["id"] for t in moved] == [1, 2]
    third = tr.update([{"box": [2, 2, 12, 12]}, {"box": [51, 51, 61, 61]}])
    assert sorted(t["id"] for t in third) == [1, 2]
    assert [t["hits"] for t in third] == [3, 2]
    tr.update([])
    tr.update([])
    assert tr.state()["tracks"] == []  # unseen for more than max_age
    tr.reset()
    assert tr.update(a)[0]["id"] == 1
    tr.close()
    with pytest.raises(ort.StateError, match="closed"):
        tr.update(a)


def outer_boundary(mask: np.ndarray) -> set[tuple[int, int]]:
    """Set pixels with a 4-neighbour outside the mask (for shapes without holes)."""
    p = np.pad(mask, 1)
    core = p[1:-1, 1:-1]
    inner = p[:-2, 1:-1] & p[2:, 1:-1] & p[1:-1, :-2] & p[1:-1, 2:]
    ys, xs = np.nonzero(core & ~inner)
    return set(zip(xs.tolist(), ys.tolist()))


@pytest.mark.parametrize("shape", ["square", "L", "plus", "dumbbell", "diagonal"])
def test_polygon_traces_the_whole_boundary(shape: str) -> None:
    m = np.zeros((12, 14), dtype=bool)
    if shape == "square":
        m[2:7, 3:9] = True
    elif shape == "L":
        m[1:10, 2:5] = True
        m[7:10, 2:12] = True
    elif shape == "plus":
        m[1:11, 6:8] = True
        m[5:7, 1:13] = True
    elif shape == "dumbbell":  # two blocks joined by a one-pixel neck: start is passed twice
        m[1:4, 1:4] = True
        m[2, 4:9] = True
        m[1:4, 9:12] = True
    else:  # blocks touching only at a corner (8-connected)
        m[1:4, 1:4] = True
        m[4:7, 4:7] = True
    poly = ops.mask_to_polygon(m, epsilon=0)
    points = {(int(x), int(y)) for x, y in poly}
    assert points == outer_boundary(m)
    assert all(m[y, x] for x, y in points)
