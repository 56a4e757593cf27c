"""The tensor module from Lua against the same helpers from Python (one process, same data).

Run: ``python bench/ops_bench.py [--iterations N] [--repeats R]``. Prints the time per call of
each helper from Lua (``require("onnxruntime")``) and from Python (``ortsession.ops``), and the
Lua/Python ratio (target: at most 2x on realistic sizes):

* ``letterbox``: ``tensor_from_image`` of a 1920x1080 image to a 640x640 letterboxed float32
  NCHW tensor (a host ``image`` object in Lua, the same Pillow image in Python);
* ``nms``: ``nms`` over the 8400 candidate boxes of a YOLOv8 output (score threshold 0.25, IoU
  0.45; 20 objects with 15 overlapping candidates each, the rest background);
* ``decode_yolo``: ``decode_yolo`` of that ``[1, 84, 8400]`` output (threshold, NMS);
* ``ctc``: ``ctc_greedy_decode`` of ``[1, 80, 6625]`` logits (PaddleOCR's size) with softmax and a
  6624-character charset;
* ``topk_small``: ``topk(5)`` of a ``[1, 1000]`` tensor: overhead-bound, for scale.

Last, the same NMS written as a plain Lua loop over ``to_table()`` (what a script needs without
the module; it must keep the same boxes) against ``ort.nms``.

Each figure is the best of ``--repeats`` interleaved measurements. Not a test: ratios vary with
the machine.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable

import numpy as np
from PIL import Image

import ortsession as ort
import ortsession.ops as ops
from ortsession.lua import new_runtime

LUA_SETUP = b"""
local ort = require("onnxruntime")
local clock = CLOCK
local img = assert(image.load_file(IMAGE_PATH))
local yolo = assert(ort.tensor_from_bytes("float32", {1, 84, 8400}, YOLO))
local boxes = assert(ort.tensor_from_bytes("float32", {8400, 4}, BOXES))
local scores = assert(ort.tensor_from_bytes("float32", {8400}, SCORES))
local logits = assert(ort.tensor_from_bytes("float32", {1, 80, 6625}, LOGITS))
local small = assert(ort.tensor_from_bytes("float32", {1, 1000}, SMALL))
local charset = CHARSET
local letterbox = {width = 640, height = 640, resize_mode = "letterbox"}
local nms_opts = {iou_threshold = 0.45, score_threshold = 0.25}
local decode_opts = {score_threshold = 0.25, iou_threshold = 0.45}
local ctc_opts = {apply_softmax = true, charset = charset}
local function timed(n, f)
  local t0 = clock()
  for _ = 1, n do assert(f()) end
  return (clock() - t0) / n
end
-- The loop a script would need without the tensor module: NMS in plain Lua over to_table().
local function lua_loop_nms(thr, sthr)
  local b, s = boxes:to_table(), scores:to_table()
  local order = {}
  for i = 1, #s do
    if s[i] >= sthr then order[#order + 1] = i end
  end
  table.sort(order, function(i, j) return s[i] > s[j] end)
  local keep, dropped = {}, {}
  for oi = 1, #order do
    local i = order[oi]
    if not dropped[i] then
      keep[#keep + 1] = i
      local x1, y1, x2, y2 = b[4 * i - 3], b[4 * i - 2], b[4 * i - 1], b[4 * i]
      local area = (x2 - x1) * (y2 - y1)
      for oj = oi + 1, #order do
        local j = order[oj]
        if not dropped[j] then
          local w = math.min(x2, b[4 * j - 1]) - math.max(x1, b[4 * j - 3])
          local h = math.min(y2, b[4 * j]) - math.max(y1, b[4 * j - 2])
          if w > 0 and h > 0 then
            local inter = w * h
            local other = (b[4 * j - 1] - b[4 * j - 3]) * (b[4 * j] - b[4 * j - 2])
            if inter / (area + other - inter) > thr then dropped[j] = true end
          end
        end
      end
    end
  end
  return keep
end
return {
  letterbox = function(n)
    return timed(n, function() return ort.tensor_from_image(img, letterbox) end)
  end,
  nms = function(n) return timed(n, function() return ort.nms(boxes, scores, nms_opts) end) end,
  decode_yolo = function(n)
    return timed(n, function() return ort.decode_yolo(yolo, decode_opts) end)
  end,
  ctc = function(n)
    return timed(n, function() return ort.ctc_greedy_decode(logits, ctc_opts) end)
  end,
  topk_small = function(n) return timed(n, function() return small:topk(5, 2) end) end,
  nms_lua_loop = function(n) return timed(n, function() return lua_loop_nms(0.45, 0.25) end) end,
  same_keep = function()
    local a, b = ort.nms(boxes, scores, nms_opts):to_table(), lua_loop_nms(0.45, 0.25)
    if #a ~= #b then return false end
    for i = 1, #a do if a[i] ~= b[i] then return false end end
    return true
  end,
}
"""

Timer = Callable[[int], float]


def yolov8_output(seed: int = 0) -> np.ndarray:
    """A [1, 84, 8400] YOLOv8 output: 20 objects x 15 candidates, low-score background."""
    rng = np.random.default_rng(seed)
    out = np.zeros((1, 84, 8400), dtype=np.float32)
    out[0, 0:2] = rng.uniform(0, 640, (2, 8400))
    out[0, 2:4] = rng.uniform(8, 120, (2, 8400))
    out[0, 4:] = rng.uniform(0, 0.1, (80, 8400))
    cols = rng.choice(8400, 300, replace=False).reshape(20, 15)
    for k in range(20):
        cx, cy = rng.uniform(60, 580, 2)
        w, h = rng.uniform(30, 120, 2)
        c = cols[k]
        out[0, 0, c] = cx + rng.normal(0, 3, 15)
        out[0, 1, c] = cy + rng.normal(0, 3, 15)
        out[0, 2, c] = w + rng.normal(0, 3, 15)
        out[0, 3, c] = h + rng.normal(0, 3, 15)
        out[0, 4 + k % 80, c] = rng.uniform(0.3, 0.95, 15)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=7)
    opts = parser.parse_args()

    rng = np.random.default_rng(1)
    photo = rng.integers(0, 256, (1080, 1920, 3), dtype=np.uint8)
    yolo = yolov8_output()
    rows = yolo[0].T
    boxes = np.ascontiguousarray(ops.xywh_to_xyxy(rows[:, :4]))
    scores = np.ascontiguousarray(rows[:, 4:].max(axis=1))
    logits = rng.normal(size=(1, 80, 6625)).astype(np.float32)
    small = rng.normal(size=(1, 1000)).astype(np.float32)
    charset = "".join(chr(0x4E00 + i) for i in range(6624))

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "photo.png")
        Image.fromarray(photo).save(path, compress_level=1)
        pil = Image.open(path)
        pil.load()
        rt = new_runtime()
        g = rt.globals()
        g[b"CLOCK"] = time.perf_counter
        g[b"IMAGE_PATH"] = path.encode()
        for name, arr in (("YOLO", yolo), ("BOXES", boxes), ("SCORES", scores),
                          ("LOGITS", logits), ("SMALL", small)):
            g[name.encode()] = arr.tobytes()
        g[b"CHARSET"] = charset.encode()
        lua = rt.execute(LUA_SETUP)

        def timed(n: int, f: Callable[[], object]) -> float:
            t0 = time.perf_counter()
            for _ in range(n):
                f()
            return (time.perf_counter() - t0) / n

        small_t = ort.tensor("float32", [1, 1000], small)
        py: dict[str, Timer] = {
            "letterbox": lambda n: timed(n, lambda: ops.tensor_from_image(
                pil, width=640, height=640, resize_mode="letterbox")),
            "nms": lambda n: timed(n, lambda: ops.nms(boxes, scores, iou_threshold=0.45,
                                                      score_threshold=0.25)),
            "decode_yolo": lambda n: timed(n, lambda: ops.decode_yolo(
                yolo, score_threshold=0.25, iou_threshold=0.45)),
            "ctc": lambda n: timed(n, lambda: ops.ctc_greedy_decode(
                logits, apply_softmax=True, charset=charset)),
            "topk_small": lambda n: timed(n, lambda: ops.topk(small_t, 5, 1)),
        }
        print(f"ortsession.ops from Lua vs Python, {opts.repeats} repeats, best time per call")
        print(f"{'helper':<14}{'Lua (ms)':>12}{'Python (ms)':>14}{'Lua/Python':>12}")
        for name in ("letterbox", "nms", "decode_yolo", "ctc", "topk_small"):
            n = opts.iterations * (50 if name == "topk_small" else 1)
            lua_fn, py_fn = lua[name.encode()], py[name]
            lua_fn(1)
            py_fn(1)
            lua_times, py_times = [], []
            for _ in range(opts.repeats):
                lua_times.append(lua_fn(n))
                py_times.append(py_fn(n))
            lt, pt = min(lua_times), min(py_times)
            print(f"{name:<14}{lt * 1e3:>12.3f}{pt * 1e3:>14.3f}{lt / pt:>12.2f}")
        print("target: Lua <= 2x Python on realistic sizes (letterbox, nms, decode_yolo, ctc)")
        assert lua[b"same_keep"](), "ort.nms and the plain Lua loop disagree"
        loop = min(lua[b"nms_lua_loop"](opts.iterations) for _ in range(opts.repeats))
        nms_lua = min(lua[b"nms"](opts.iterations) for _ in range(opts.repeats))
        print(f"without the module: NMS as a plain Lua loop over to_table() takes "
              f"{loop * 1e3:.3f} ms, {loop / nms_lua:.1f}x ort.nms")


if __name__ == "__main__":
    main()
