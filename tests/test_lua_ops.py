"""The Lua tensor module from Python's side: screen stand-in, CLI flag, same answers both ways."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("lupa.lua54")
PIL_Image = pytest.importorskip("PIL.Image")

import ortsession.ops as ops  # noqa: E402
from ortsession import lua as ortlua  # noqa: E402

SCRIPT = """
local ort = require("onnxruntime")
local shot = assert(screen.image())
local w, h = screen.size()
print(w, h, shot:get_color(3, 2))
local part = assert(screen.image(2, 1, 5, 4))
print(part:width(), part:height())
local x, info = ort.tensor_from_image(shot, {width = 8, height = 8, resize_mode = "letterbox"})
print(info.pad_top, x:sum())
"""


@pytest.fixture
def screen_file(tmp_path: Path) -> Path:
    arr = np.zeros((6, 10, 3), dtype=np.uint8)
    arr[2, 3] = [0x12, 0x34, 0x56]
    path = tmp_path / "screen.png"
    PIL_Image.fromarray(arr).save(path)
    return path


def expected(screen_file: Path) -> str:
    x, info = ops.tensor_from_image(screen_file, width=8, height=8, resize_mode="letterbox")
    total = float(np.sum(x))
    return f"10\t6\t{0x123456}\n3\t3\n{info.pad_top}\t{total:.14g}\n"


def test_set_screen(screen_file: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    rt = ortlua.new_runtime(stdout=out, stderr=err)
    ortlua.set_screen(rt, screen_file)
    assert ortlua.run_source(SCRIPT, runtime=rt, stderr=err) == 0, err.getvalue()
    got = out.getvalue().splitlines()
    want = expected(screen_file).splitlines()
    assert got[:2] == want[:2]
    pad, total = got[2].split("\t")
    assert pad == want[2].split("\t")[0]
    assert float(total) == pytest.approx(float(want[2].split("\t")[1]), rel=1e-5)
    with pytest.raises(FileNotFoundError):
        ortlua.set_screen(rt, screen_file.parent / "missing.png")
    with pytest.raises(TypeError):
        ortlua.set_screen(object(), screen_file)


def test_cli_screen_flag(screen_file: Path, tmp_path: Path) -> None:
    script = tmp_path / "shot.lua"
    script.write_text("local w, h = screen.size() print(w, h, ...)\n")
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    proc = subprocess.run([sys.executable, "-m", "ortsession", "lua", "--screen", str(screen_file),
                           str(script), "a"], capture_output=True, text=True, timeout=120,
                          check=False, env=env)
    assert (proc.returncode, proc.stdout) == (0, "10\t6\ta\n"), proc.stderr
    proc = subprocess.run([sys.executable, "-m", "ortsession", "lua", "--screen",
                           str(tmp_path / "none.png"), str(script)], capture_output=True,
                          text=True, timeout=120, check=False, env=env)
    assert proc.returncode != 0 and "--screen" in proc.stderr


def test_ops_bench_smoke() -> None:
    bench = Path(__file__).resolve().parent.parent / "bench" / "ops_bench.py"
    proc = subprocess.run([sys.executable, str(bench), "--iterations", "1", "--repeats", "1"],
                          capture_output=True, text=True, timeout=180, check=False,
                          env={**os.environ, "PYTHONWARNINGS": "error"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    for row in ("letterbox", "nms", "decode_yolo", "ctc", "topk_small", "Lua/Python"):
        assert row in proc.stdout, proc.stdout


LUA_SAME = b"""
local ort = require("onnxruntime")
return function(boxes, scores, classes, logits, rboxes)
  local keep = assert(ort.nms(boxes, scores, {iou_threshold = 0.5, score_threshold = 0.2,
    class_aware = true, class_ids = classes}))
  local rkeep = assert(ort.rotated_nms(rboxes, scores, {iou_threshold = 0.3}))
  local text = assert(ort.ctc_greedy_decode(logits, {blank_index = 1, charset = "abcdefg"}))
  local top = assert(logits:topk(3, 2))
  return keep:to_table(), rkeep:to_table(), text.text, top.indices:to_table(),
    logits:softmax(2):sum(), logits:argmax()
end
"""


@pytest.mark.parametrize("seed", range(5))
def test_lua_and_python_give_the_same_answers(seed: int) -> None:
    """The same random inputs through the Lua module and ortsession.ops (Lua: 1-based)."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 100, (60, 2))
    boxes = np.concatenate([xy, xy + rng.uniform(5, 40, (60, 2))], axis=1).astype(np.float32)
    scores = rng.uniform(0, 1, 60).astype(np.float32)
    classes = rng.integers(0, 3, 60)
    logits = rng.normal(size=(30, 8)).astype(np.float32)
    rboxes = np.concatenate([xy, rng.uniform(5, 40, (60, 2)), rng.uniform(-3, 3, (60, 1))],
                            axis=1).astype(np.float32)
    rt = ortlua.new_runtime()
    fn = rt.execute(LUA_SAME)
    keep, rkeep, text, top, total, best = fn(
        _lua_tensor(rt, boxes), _lua_tensor(rt, scores),
        rt.table_from([int(c) for c in classes]), _lua_tensor(rt, logits),
        _lua_tensor(rt, rboxes))
    assert list(keep.values()) == (ops.nms(boxes, scores, iou_threshold=0.5, score_threshold=0.2,
                                           class_aware=True, class_ids=classes) + 1).tolist()
    assert list(rkeep.values()) == (ops.rotated_nms(rboxes, scores, iou_threshold=0.3)
                                    + 1).tolist()
    assert text.decode() == ops.ctc_greedy_decode(logits, charset="abcdefg")["text"]
    assert list(top.values()) == (ops.topk(logits, 3, 1).indices + 1).reshape(-1).tolist()
    assert total == pytest.approx(30, rel=1e-5)
    assert best == int(np.argmax(logits)) + 1


def _lua_tensor(rt: Any, arr: np.ndarray) -> Any:
    """A Lua tensor object holding ``arr`` (made by the Lua module itself)."""
    make = rt.eval(b"function(s, b) return require('onnxruntime').tensor_from_bytes("
                   b"'float32', s, b) end")
    return make(rt.table_from(list(arr.shape)), arr.astype(np.float32).tobytes())


def test_dropped_big_tensors_are_freed_in_a_loop() -> None:
    """Lua's collector does not see the memory behind a tensor; big results make it step."""
    import tracemalloc

    rt = ortlua.new_runtime()
    loop = rt.execute(b"""
        local ort = require("onnxruntime")
        local img = image.new(64, 64)
        return function(n)
          for _ = 1, n do
            assert(ort.tensor_from_image(img, {width = 640, height = 640}))  -- 4.9 MB each
          end
        end
    """)
    loop(2)
    tracemalloc.start()
    try:
        loop(40)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 40 * 4_915_200 / 4, f"{peak / 1e6:.0f} MB held by 40 dropped tensors"
