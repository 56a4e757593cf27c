"""Decoders and record builders on hand-built detector outputs with known answers."""

from __future__ import annotations

import numpy as np
import pytest

import ortsession as ort
import ortsession.ops as ops


def yolov8_output(n: int = 8400, classes: int = 3) -> tuple[np.ndarray, list[tuple[float, ...]]]:
    """A [1, 4 + classes, n] output: background noise plus three known objects."""
    rng = np.random.default_rng(7)
    out = np.zeros((1, 4 + classes, n), dtype=np.float32)
    out[0, :4] = rng.uniform(10, 600, (4, n))
    out[0, 4:] = rng.uniform(0, 0.2, (classes, n))
    objects = [(100.0, 100.0, 40.0, 20.0, 1, 0.9), (300.0, 200.0, 60.0, 60.0, 0, 0.8),
               (500.0, 500.0, 30.0, 30.0, 2, 0.7)]
    for k, (cx, cy, w, h, c, s) in enumerate(objects):
        for j in range(3):  # three overlapping candidates per object, the first the best
            col = 100 * k + j
            out[0, :4, col] = [cx + j, cy, w, h]
            out[0, 4 + c, col] = s - 0.05 * j
    return out, objects


def test_decode_yolo_finds_the_objects() -> None:
    out, objects = yolov8_output()
    d = ops.decode_yolo(out, score_threshold=0.5)
    kept = d.keep_indices
    assert len(kept) == 3
    assert d.class_ids[kept].tolist() == [1, 0, 2]
    assert d.scores[kept].tolist() == pytest.approx([0.9, 0.8, 0.7])
    assert d.selected_rows[kept].tolist() == [0, 100, 200]
    cx, cy, w, h, *_ = objects[0]
    assert d.boxes[kept[0]].tolist() == pytest.approx([cx - w / 2, cy - h / 2, cx + w / 2,
                                                       cy + h / 2])
    assert len(d.scores) == 9  # every candidate above the threshold
    no_nms = ops.decode_yolo(out, score_threshold=0.5, nms=False)
    assert len(no_nms.keep_indices) == 9
    # the same output, rows first
    t = ops.decode_yolo(out.transpose(0, 2, 1), score_threshold=0.5)
    assert np.array_equal(t.boxes, d.boxes)


def test_decode_with_transform_maps_to_source() -> None:
    out, _ = yolov8_output()
    info = {"scale_x": 0.5, "scale_y": 0.5, "pad_left": 0, "pad_top": 140}
    d = ops.decode_yolo(out, score_threshold=0.5, transform=info)
    first = d.boxes[d.keep_indices[0]]
    assert first.tolist() == pytest.approx([(80 - 0) / 0.5, (90 - 140) / 0.5, 240, -60])


def test_objectness_schema_and_matrix() -> None:
    # YOLOv5: rows [cx, cy, w, h, obj, c0, c1]
    rows = np.array([[10, 10, 4, 4, 0.9, 0.1, 0.8], [10, 10, 4, 4, 0.2, 0.9, 0.1],
                     [50, 50, 4, 4, 0.9, 0.9, 0.1]], dtype=np.float32)
    d = ops.decode_matrix_candidates(rows, {"score_mode": "objectness_times_class",
                                            "prediction_layout": "rows"}, score_threshold=0.3)
    assert d.selected_rows.tolist() == [2, 0]
    assert d.scores.tolist() == pytest.approx([0.81, 0.72])
    assert d.class_ids.tolist() == [0, 1]
    xyxy = ops.decode_matrix_candidates(
        np.array([[1, 2, 3, 4, 0.9]]), {"box_format": "xyxy", "prediction_layout": "rows"})
    assert xyxy.boxes.tolist() == [[1, 2, 3, 4]]
    ltwh = ops.decode_matrix_candidates(np.array([[1, 2, 3, 4, 0.9]]),
                                        {"box_format": "xywh", "prediction_layout": "rows"})
    assert ltwh.boxes.tolist() == [[1, 2, 4, 6]]
    with pytest.raises(ort.OptionError, match="did you mean box_format"):
        ops.decode_matrix_candidates(rows, {"box_fromat": "xyxy"})
    with pytest.raises(ort.TensorError, match="do not fit rows of 7 values"):
        ops.decode_matrix_candidates(rows, {"class_start": 9, "prediction_layout": "rows"})


def test_decode_yolo_obb() -> None:
    out = np.zeros((1, 4 + 2 + 1, 10), dtype=np.float32)
    out[0, :, 0] = [50, 50, 40, 10, 0.9, 0.0, 0.0]
    out[0, :, 1] = [50, 50, 40, 10, 0.8, 0.0, np.pi / 2]  # crosses the first: IoU 1/7
    out[0, :, 2] = [51, 50, 40, 10, 0.7, 0.0, 0.0]
    d = ops.decode_yolo_obb(out, score_threshold=0.5, iou_threshold=0.5)
    assert d.boxes.shape == (3, 5)
    assert d.keep_indices.tolist() == [0, 1]
    assert d.angles is not None and d.angles.tolist() == pytest.approx([0, np.pi / 2, 0])
    recs = ops.obb_records_from_rows(d.boxes, d.scores, d.class_ids, d.angles, d.keep_indices)
    assert [r["row_index"] for r in recs] == [0, 1]
    assert recs[0]["width"] == 40 and len(recs[0]["points"]) == 4


def test_create_decoder() -> None:
    dec = ops.create_decoder({"task": "detect"})
    assert dec.task() == "detect" and dec.schema() == {"task": "detect"}
    out, _ = yolov8_output()
    assert len(dec.decode(out, score_threshold=0.5).keep_indices) == 3
    cls = ops.create_decoder({"task": "classify", "classification_mode": "softmax"})
    r = cls.decode(np.array([[1.0, 3.0, 2.0]]), top_k=2)
    assert r["class_id"] == 1 and r["class_ids"].tolist() == [1, 2]
    assert r["score"] == pytest.approx(np.exp(3) / np.exp([1, 3, 2]).sum())
    with pytest.raises(ort.OptionError, match="option task must be one of"):
        ops.create_decoder({"task": "segment"})


def test_dense_detection() -> None:
    strides = [8, 16]
    rows = (64 // 8) ** 2 + (64 // 16) ** 2
    out = np.zeros((rows, 4 + 1 + 2), dtype=np.float32)
    # cell (gx=3, gy=2) of stride 8: row 2*8+3; centre (3.5*8, 2.5*8), size exp(1)*8
    r = 2 * 8 + 3
    out[r] = [0.5, 0.5, 1.0, 0.0, 0.9, 0.1, 0.95]
    d = ops.decode_dense_detection(out, strides=strides, decode_width=64, decode_height=64)
    assert d["labels"].tolist() == [1]
    w, h = np.exp(1) * 8, 8.0
    assert d["boxes"][0].tolist() == pytest.approx([28 - w / 2, 20 - h / 2, 28 + w / 2,
                                                    20 + h / 2], rel=1e-5)
    assert d["scores"].tolist() == pytest.approx([0.9 * 0.95])
    batch = ops.decode_dense_detection(np.stack([out, out * 0]), strides=strides,
                                       decode_width=64, decode_height=64)
    assert len(batch) == 2 and len(batch[1]["scores"]) == 0
    with pytest.raises(ort.TensorError, match="give 80 cells"):
        ops.decode_dense_detection(out[:10], strides=strides, decode_width=64, decode_height=64)
    with pytest.raises(ort.OptionError, match="strides must be a list of positive integers"):
        ops.decode_dense_detection(out, strides=[0], decode_width=64, decode_height=64)


def test_records() -> None:
    recs = ops.records_from_boxes(np.array([[0, 0, 10, 20], [5, 5, 7, 9]]), [0.9, 0.5], [3, 1],
                                  [1])
    assert recs == [{"box": [5, 5, 7, 9], "score": 0.5, "class_id": 1, "row_index": 1,
                     "x1": 5, "y1": 5, "x2": 7, "y2": 9, "width": 2, "height": 4, "cx": 6,
                     "cy": 7}]
    with pytest.raises(ort.TensorError, match="within the 2 rows"):
        ops.records_from_boxes(np.zeros((2, 4)), [0, 0], [0, 0], [2])
    pts = ops.points_to_records(np.arange(12, dtype=np.float32).reshape(2, 6), keypoint_count=2)
    assert pts[1] == [{"x": 6, "y": 7, "score": 8}, {"x": 9, "y": 10, "score": 11}]
    assert ops.points_to_records(np.zeros((3, 2)))[0][2] == {"x": 0, "y": 0}


def test_segmentation_and_pose_outputs_compose() -> None:
    """YOLOv8-seg / -pose: decode the boxes, then gather the extra columns by selected_rows."""
    n, classes, coeffs = 50, 2, 3
    out = np.zeros((1, 4 + classes + coeffs, n), dtype=np.float32)
    out[0, :4, 7] = [16, 16, 16, 16]  # one object at candidate 7: box (8, 8)-(24, 24)
    out[0, 4 + 1, 7] = 0.9
    out[0, 4 + classes:, 7] = [1, 0, 0]  # its mask is prototype 0
    d = ops.decode_yolo(out, score_threshold=0.5, class_count=classes)
    assert d.selected_rows.tolist() == [7] and d.class_ids.tolist() == [1]
    rows = out[0].T[d.selected_rows[d.keep_indices]]
    proto = np.full((1, coeffs, 8, 8), -10, dtype=np.float32)
    proto[0, 0] = 10  # prototype 0 covers everything; the box crops it
    masks = ops.proto_masks(proto, rows[:, 4 + classes:], d.boxes[d.keep_indices], 32, 32)
    assert masks[0].bounds == (8, 8, 16, 16) and masks[0].pixel_count == 256
    # pose: one class, then 2 keypoints (x, y, score) per candidate
    pose = np.zeros((1, 4 + 1 + 6, n), dtype=np.float32)
    pose[0, :, 3] = [20, 20, 10, 10, 0.8, 18, 19, 0.9, 22, 21, 0.7]
    p = ops.decode_yolo(pose, score_threshold=0.5, class_count=1)
    kp = ops.reshape_keypoints(pose[0].T[p.selected_rows][:, 5:], 2)
    info = {"scale_x": 0.5, "scale_y": 0.5, "pad_left": 0, "pad_top": 10}
    src = ops.scale_keypoints(kp, info)
    assert np.allclose(src[0], [[36, 18, 0.9], [44, 22, 0.7]])
