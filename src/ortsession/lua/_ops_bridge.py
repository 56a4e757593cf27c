"""The Python half of the Lua tensor module and of the desktop host objects (``image``, ``screen``).

``ops.lua`` adds the tensor module (SPEC §12) to ``require("onnxruntime")`` and ``host_globals.lua``
installs the host stand-ins; both call the functions of :class:`OpsBridge`. Each converts Lua
values (tensors arrive as ``ortsession.Tensor``, tables through the session bridge's
``from_lua``), applies Lua's conventions (1-based positions, ``stop`` inclusive, class ids and
blank index 1-based) around the Python functions of :mod:`ortsession.ops`, and returns Lua
values. Failures return ``(None, message)``: Lua's ``nil, err``, worded for Lua (see
:func:`ortsession.ops._common.speaking_lua`).
"""

from __future__ import annotations

import base64
import binascii
import functools
import inspect
import io
import json
import os
from collections.abc import Callable, Mapping
from typing import Any, Final

import numpy as np

from ortsession import InputError, OptionError, OrtError, Tensor, TensorError
from ortsession.ops import _common

from ._bridge import Bridge

__all__ = ["HostImage", "OpsBridge", "install", "set_screen"]

_MAGIC: Final = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"BM", b"RIFF", b"II*\x00", b"MM\x00*")
"""Leading bytes of encoded images: a Lua string starting so is image data, not a path."""

_BIG: Final = 1 << 20
"""Results this large (bytes) make the Lua collector take a step (see ``OpsBridge.out``)."""

_SHIFTED_OPTIONS: Final = frozenset({
    "objectness_index", "class_start", "angle_index", "batch_index", "x_index", "y_index",
    "width_index", "height_index", "blank_index",
})
"""Options holding a 1-based position in Lua (0-based in Python); ``class_end`` is inclusive in
Lua and exclusive in Python: the same number."""


def _ops() -> Any:
    from ortsession import ops

    return ops


class HostImage:
    """An image of the desktop host (the Lua ``image`` objects): a Pillow image, RGB or RGBA."""

    __slots__ = ("__weakref__", "pil")

    def __init__(self, pil: Any) -> None:
        if pil.mode not in ("RGB", "RGBA"):
            pil = pil.convert("RGBA" if "A" in pil.getbands() or "transparency" in pil.info
                              else "RGB")
        self.pil = pil

    def __repr__(self) -> str:
        w, h = self.pil.size
        return f"image ({w}x{h}, {self.pil.mode})"


def _shift(o: dict[str, Any], by: int = -1) -> dict[str, Any]:
    for key in _SHIFTED_OPTIONS.intersection(o):
        v = o[key]
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            o[key] = v + by
    bi = o.get("box_indices")
    if isinstance(bi, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in bi):
        o["box_indices"] = [v + by for v in bi]
    return o


def _int(value: Any) -> Any:
    if type(value) is float and value.is_integer():
        return int(value)
    return value


def _index(value: Any, what: str) -> int:
    """Return a 1-based Lua position as a 0-based one; negative ones count from the end."""
    v = _int(value)
    if type(v) is not int:
        raise TensorError(f"{what} must be an integer, got {_common.show(v)}")
    if v == 0:
        raise TensorError(f"{what} is 0; Lua positions start at 1")
    return v - 1 if v > 0 else v


class OpsBridge:
    """The functions ``ops.lua`` and ``host_globals.lua`` call, bound to one runtime."""

    def __init__(self, runtime: Any, bridge: Bridge, internals: Any) -> None:
        self._bridge = bridge
        self._from_lua = bridge.from_lua
        self._table_from = runtime.table_from
        self._wrap = internals[b"wrap"]
        self._gc_step = runtime.eval(b'function() collectgarbage("step") end')
        self.screen: str | None = None

    def table(self) -> Any:
        """Return the Lua table of functions (``lua_x`` is ``x``), each guarded."""
        functions: dict[bytes, Any] = {}
        for name in dir(self):
            if name.startswith("lua_"):
                functions[name[4:].encode()] = _guard(name[4:], getattr(self, name))
        return self._table_from(functions)

    # -- conversions --------------------------------------------------------------------
    def _val(self, value: Any) -> Any:
        """Return a Lua argument as the ops functions take it (tables become lists)."""
        t = type(value)
        if t is Tensor or value is None or t is int or t is float or t is bool:
            return value
        if t is bytes:
            return value.decode("utf-8")
        return self._from_lua(value)

    def _opts(self, value: Any, shift: bool = True) -> dict[str, Any]:
        if value is None:
            return {}
        o = self._from_lua(value, mapping=True)
        if not isinstance(o, dict) or any(type(k) is not str for k in o):
            raise OptionError(f"options must be a table of name = value, got "
                                      f"{_common.show(o)}")
        return _shift(o) if shift else o

    def out(self, v: Any) -> Any:
        """Convert a result to Lua: arrays become tensors, containers tables, str bytes."""
        t = type(v)
        if t is np.ndarray:
            if v.nbytes >= _BIG:
                # Lua's collector sees a small table, not the memory behind it: a step now frees
                # the big tensors a loop dropped, so their memory is reused (as in Python).
                self._gc_step()
            return self._wrap(b"tensor", Tensor(np.ascontiguousarray(v)))
        if v is None or t is bool or t is int or t is float or t is bytes:
            return v
        if t is str:
            return v.encode("utf-8", "surrogateescape")
        if t is list or t is tuple:
            return self._table_from([self.out(x) for x in v])
        if t is dict:
            return self._table_from({(k.encode() if type(k) is str else k): self.out(x)
                                     for k, x in v.items()})
        if isinstance(v, np.generic):
            return v.item()
        if isinstance(v, HostImage):
            return self._wrap(b"image", v)
        to_dict = getattr(v, "to_dict", None)
        if callable(to_dict):
            return self.out(to_dict())
        return v

    @staticmethod
    def _plus1(a: Any) -> Any:
        return np.asarray(a, dtype=np.int64) + 1

    def _image_arg(self, value: Any) -> Any:
        if type(value) is bytes:
            if value.startswith(_MAGIC):
                return value
            return os.fsdecode(value)
        if self._bridge.type_of(value) == "table":
            value = self._from_lua(value)
        if isinstance(value, HostImage):
            return value.pil
        return self._val(value)

    def _masks(self, value: Any) -> Any:
        """Mask tables (one, or a list) back to ``Mask`` records; tensors pass through."""
        v = self._val(value)
        ops = _ops()

        def rec(m: Any) -> Any:
            bits = m.get("bits")
            arr = bits.numpy() if isinstance(bits, Tensor) else np.asarray(bits)
            return ops.Mask(int(m.get("width", arr.shape[-1])), int(m.get("height",
                            arr.shape[0])), arr.astype(bool).reshape(arr.shape[0], -1), 0, None)

        if isinstance(v, dict) and "bits" in v:
            return rec(v)
        if isinstance(v, list) and v and all(isinstance(m, dict) and "bits" in m for m in v):
            return [rec(m) for m in v]
        return v

    def _mask_out(self, masks: list[Any]) -> Any:
        out = []
        for m in masks:
            d = m.to_dict()
            d["bits"] = m.bits.astype(np.uint8)
            out.append(d)
        return self.out(out)

    # -- tensor methods -----------------------------------------------------------------
    def lua_t_info(self, t: Any) -> Any:
        return self.out(_ops().info(t))

    def lua_t_rank(self, t: Tensor) -> Any:
        return len(t.shape)

    def lua_t_size(self, t: Tensor) -> Any:
        return t.element_count

    def lua_t_type(self, t: Tensor) -> Any:
        return t.data_type.encode()

    def lua_t_bytes(self, t: Tensor) -> Any:
        if t.data_type == "string":
            raise TensorError("string tensors have no byte form")
        return t.tobytes()

    def lua_t_get(self, t: Tensor, *index: Any) -> Any:
        pos = [_index(i, f"argument {k + 1}") for k, i in enumerate(index)]
        return self.out(_ops().get(t, *pos))

    def lua_t_set(self, t: Tensor, *args: Any) -> Any:
        if not args:
            raise TensorError("expected indices and a value")
        *index, value = args
        pos = [_index(i, f"argument {k + 1}") for k, i in enumerate(index)]
        _ops().set(t, *pos, self._val(value))
        return True

    def lua_t_fill(self, t: Tensor, value: Any = None) -> Any:
        _ops().fill(t, self._val(value))
        return True

    def lua_t_clone(self, t: Tensor) -> Any:
        return self.out(_ops().clone(t))

    def lua_t_copy_from_bytes(self, t: Tensor, data: Any = None) -> Any:
        if type(data) is not bytes:
            raise TensorError(f"expected a string of bytes, got {_common.show(self._val(data))}")
        _ops().copy_from_bytes(t, data)
        return True

    def lua_t_to(self, t: Tensor, type_: Any = None) -> Any:
        return self.out(_ops().to(t, self._val(type_)))

    def lua_t_reshape(self, t: Tensor, shape: Any = None) -> Any:
        return self.out(_ops().reshape(t, self._val(shape)))

    def lua_t_transpose(self, t: Tensor, axes: Any = None) -> Any:
        given = self._val(axes)
        if given is not None and not isinstance(given, list):
            raise TensorError(f"axes must be a table of dimensions, got {_common.show(given)}")
        ax = None if given is None else [_index(a, "axis") for a in given]
        return self.out(_ops().transpose(t, ax))

    def lua_t_flatten(self, t: Tensor, start: Any = None, end: Any = None) -> Any:
        s = 0 if start is None else _index(start, "start_dim")
        e = -1 if end is None else _index(end, "end_dim")
        return self.out(_ops().flatten(t, s, e))

    def lua_t_squeeze(self, t: Tensor, dim: Any = None) -> Any:
        return self.out(_ops().squeeze(t, None if dim is None else _index(dim, "dim")))

    def lua_t_unsqueeze(self, t: Tensor, dim: Any = None) -> Any:
        return self.out(_ops().unsqueeze(t, _index(dim, "dim")))

    def lua_t_slice(self, t: Tensor, dim: Any = None, start: Any = None, stop: Any = None,
                    step: Any = None) -> Any:
        d = _index(dim, "dim")
        s = _index(start, "start")
        stop_ = _int(stop)
        if type(stop_) is not int:
            raise TensorError(f"stop must be an integer, got {_common.show(stop_)}")
        return self.out(_ops().slice(t, d, s, stop_, 1 if step is None else _int(step)))

    def lua_t_select(self, t: Tensor, dim: Any = None, index: Any = None) -> Any:
        return self.out(_ops().select(t, _index(dim, "dim"), _index(index, "index")))

    def lua_t_gather(self, t: Tensor, dim: Any = None, indices: Any = None) -> Any:
        idx = _common.as_array(self._val(indices), "indices", ndim=(0, 1))
        return self.out(_ops().gather(t, _index(dim, "dim"), idx - 1))

    def _binary(self, name: str, t: Tensor, other: Any) -> Any:
        return self.out(getattr(_ops(), name)(t, self._val(other)))

    def lua_t_add(self, t: Tensor, other: Any = None) -> Any:
        return self._binary("add", t, other)

    def lua_t_sub(self, t: Tensor, other: Any = None) -> Any:
        return self._binary("sub", t, other)

    def lua_t_mul(self, t: Tensor, other: Any = None) -> Any:
        return self._binary("mul", t, other)

    def lua_t_div(self, t: Tensor, other: Any = None) -> Any:
        return self._binary("div", t, other)

    def lua_t_dot(self, t: Tensor, other: Any = None) -> Any:
        return self._binary("dot", t, other)

    def lua_clamp(self, t: Any, lo: Any = None, hi: Any = None) -> Any:
        return self.out(_ops().clamp(self._val(t), lo, hi))

    def lua_sigmoid(self, t: Any) -> Any:
        return self.out(_ops().sigmoid(self._val(t)))

    def lua_exp(self, t: Any) -> Any:
        return self.out(_ops().exp(self._val(t)))

    def lua_matmul(self, a: Any, b: Any = None) -> Any:
        return self.out(_ops().matmul(self._val(a), self._val(b)))

    def lua_t_argmax(self, t: Tensor, axis: Any = None) -> Any:
        if axis is None:
            return _ops().argmax(t) + 1
        return self.out(self._plus1(_ops().argmax(t, _index(axis, "axis"))))

    def _reduce(self, name: str, t: Tensor, axis: Any) -> Any:
        fn = getattr(_ops(), name)
        return self.out(fn(t) if axis is None else fn(t, _index(axis, "axis")))

    def lua_t_sum(self, t: Tensor, axis: Any = None) -> Any:
        return self._reduce("sum", t, axis)

    def lua_t_mean(self, t: Tensor, axis: Any = None) -> Any:
        return self._reduce("mean", t, axis)

    def lua_t_max(self, t: Tensor, axis: Any = None) -> Any:
        return self._reduce("max", t, axis)

    def lua_t_min(self, t: Tensor, axis: Any = None) -> Any:
        return self._reduce("min", t, axis)

    def lua_t_softmax(self, t: Tensor, axis: Any = None) -> Any:
        return self.out(_ops().softmax(t, -1 if axis is None else _index(axis, "axis")))

    def lua_t_normalize(self, t: Tensor, axis: Any = None) -> Any:
        return self.out(_ops().normalize(t, -1 if axis is None else _index(axis, "axis")))

    def lua_t_sort(self, t: Tensor, axis: Any = None, descending: Any = None) -> Any:
        r = _ops().sort(t, -1 if axis is None else _index(axis, "axis"), bool(descending))
        return self.out({"values": r.values, "indices": self._plus1(r.indices)})

    def lua_t_topk(self, t: Tensor, k: Any = None, axis: Any = None) -> Any:
        r = _ops().topk(t, _int(k), -1 if axis is None else _index(axis, "axis"))
        return self.out({"values": r.values, "indices": self._plus1(r.indices)})

    def lua_where(self, cond: Any, x: Any = None, y: Any = None) -> Any:
        return self.out(_ops().where(self._val(cond), self._val(x), self._val(y)))

    def lua_concat(self, tensors: Any, axis: Any = None) -> Any:
        return self.out(_ops().concat(self._val(tensors), 0 if axis is None else
                                      _index(axis, "axis")))

    def lua_stack(self, tensors: Any, axis: Any = None) -> Any:
        return self.out(_ops().stack(self._val(tensors), 0 if axis is None else
                                     _index(axis, "axis")))

    # -- images -------------------------------------------------------------------------
    def lua_tensor_from_image(self, image: Any, opts: Any = None) -> Any:
        arr, info = _ops().tensor_from_image(self._image_arg(image), self._opts(opts, False))
        return self.out(arr), self.out(info.to_dict())

    def lua_tensor_from_images(self, images: Any, opts: Any = None) -> Any:
        items: Any = self._val(images) if self._bridge.type_of(images) != "table" else (
            self._bridge.classify(images))
        if type(items) is int:  # a plain Lua table: an array of images, paths or image data
            items = [self._image_arg(images[i]) for i in range(1, len(images) + 1)]
        arr, infos = _ops().tensor_from_images(items, self._opts(opts, False))
        return self.out(arr), self.out([i.to_dict() for i in infos])

    def lua_image_from_tensor(self, t: Any, opts: Any = None) -> Any:
        return self.out(HostImage(_ops().image_from_tensor(self._val(t), self._opts(opts))))

    # -- boxes ----------------------------------------------------------------------------
    def lua_nms(self, boxes: Any, scores: Any = None, opts: Any = None) -> Any:
        o = self._opts(opts)
        if "class_ids" in o:
            o["class_ids"] = self._val(o["class_ids"])
        return self.out(self._plus1(_ops().nms(self._val(boxes), self._val(scores), o)))

    def lua_rotated_nms(self, boxes: Any, scores: Any = None, opts: Any = None) -> Any:
        return self.out(self._plus1(_ops().rotated_nms(self._val(boxes), self._val(scores),
                                                       self._opts(opts))))

    def lua_box_points(self, boxes: Any) -> Any:
        b = _common.float_array(self._val(boxes), "rotated_boxes", ndim=(1, 2))
        pts = _ops().box_points(b).tolist()
        if b.ndim == 2 and b.shape[0] == 1:
            pts = pts[0]
        return self.out(pts)

    def lua_xywh_to_xyxy(self, boxes: Any) -> Any:
        return self.out(_ops().xywh_to_xyxy(self._val(boxes)))

    def lua_xyxy_to_xywh(self, boxes: Any) -> Any:
        return self.out(_ops().xyxy_to_xywh(self._val(boxes)))

    def lua_rotated_iou(self, a: Any, b: Any = None) -> Any:
        return self.out(_ops().rotated_iou(self._val(a), self._val(b)))

    # -- decoding -------------------------------------------------------------------------
    def _detections(self, d: Any) -> Any:
        out = {"boxes": d.boxes, "scores": d.scores, "class_ids": self._plus1(d.class_ids),
               "keep_indices": self._plus1(d.keep_indices),
               "selected_rows": self._plus1(d.selected_rows)}
        if d.angles is not None:
            out["angles"] = d.angles
        return self.out(out)

    def lua_decode_yolo(self, output: Any, opts: Any = None) -> Any:
        return self._detections(_ops().decode_yolo(self._val(output), self._opts(opts)))

    def lua_decode_yolo_obb(self, output: Any, opts: Any = None) -> Any:
        return self._detections(_ops().decode_yolo_obb(self._val(output),
                                                       self._opts(opts)))

    def lua_decode_matrix_candidates(self, output: Any, schema: Any = None,
                                     opts: Any = None) -> Any:
        return self._detections(_ops().decode_matrix_candidates(
            self._val(output), self._opts(schema), self._opts(opts)))

    def lua_decode_dense_detection(self, output: Any, opts: Any = None) -> Any:
        r = _ops().decode_dense_detection(self._val(output), self._opts(opts))

        def one(d: dict[str, Any]) -> dict[str, Any]:
            return {**d, "labels": self._plus1(d["labels"])}

        return self.out([one(d) for d in r] if isinstance(r, list) else one(r))

    def lua_create_decoder(self, schema: Any = None) -> Any:
        given = self._opts(schema, False)
        decoder = _ops().create_decoder(_shift(dict(given)))
        return self._wrap(b"decoder", _LuaDecoder(decoder, given))

    def lua_decoder_decode(self, d: _LuaDecoder, output: Any = None, opts: Any = None) -> Any:
        r = d.decoder.decode(self._val(output), self._opts(opts))
        if isinstance(r, dict):
            return self.out({**r, "class_id": r["class_id"] + 1,
                             "class_ids": self._plus1(r["class_ids"])})
        return self._detections(r)

    def lua_decoder_task(self, d: _LuaDecoder) -> Any:
        return d.decoder.task().encode()

    def lua_decoder_schema(self, d: _LuaDecoder) -> Any:
        return self.out(d.given)

    def _keep(self, keep: Any) -> Any:
        if keep is None:
            return None
        return _common.as_array(self._val(keep), "keep_indices", ndim=(0, 1)) - 1

    def _row_index(self, records: list[dict[str, Any]]) -> Any:
        for r in records:
            r["row_index"] += 1
        return self.out(records)

    def lua_records_from_boxes(self, boxes: Any, scores: Any = None, class_ids: Any = None,
                               keep: Any = None) -> Any:
        return self._row_index(_ops().records_from_boxes(
            self._val(boxes), self._val(scores), self._val(class_ids), self._keep(keep)))

    def lua_obb_records_from_rows(self, rows: Any, scores: Any = None, class_ids: Any = None,
                                  angles: Any = None, keep: Any = None, opts: Any = None) -> Any:
        return self._row_index(_ops().obb_records_from_rows(
            self._val(rows), self._val(scores), self._val(class_ids),
            None if angles is None else self._val(angles), self._keep(keep),
            self._opts(opts)))

    def lua_points_to_records(self, points: Any, opts: Any = None) -> Any:
        return self.out(_ops().points_to_records(self._val(points), self._opts(opts)))

    # -- masks ----------------------------------------------------------------------------
    def lua_threshold_masks(self, masks: Any, threshold: Any = None) -> Any:
        return self._mask_out(_ops().threshold_masks(self._masks(masks),
                                                     0.5 if threshold is None else threshold))

    def lua_crop_masks_by_boxes(self, masks: Any, boxes: Any = None) -> Any:
        return self.out(_ops().crop_masks_by_boxes(self._masks(masks), self._val(boxes)))

    def lua_resize_masks(self, masks: Any, width: Any = None, height: Any = None,
                         opts: Any = None) -> Any:
        return self.out(_ops().resize_masks(self._masks(masks), _int(width), _int(height),
                                            self._opts(opts)))

    def lua_mask_iou(self, a: Any, b: Any = None, opts: Any = None) -> Any:
        return self.out(_ops().mask_iou(self._masks(a), self._masks(b), self._opts(opts)))

    def lua_mask_to_polygon(self, mask: Any, opts: Any = None) -> Any:
        return self.out(_ops().mask_to_polygon(self._masks(mask), self._opts(opts)))

    def lua_proto_masks(self, proto: Any, coeffs: Any = None, boxes: Any = None,
                        width: Any = None, height: Any = None, opts: Any = None) -> Any:
        return self._mask_out(_ops().proto_masks(self._val(proto), self._val(coeffs),
                                                 self._val(boxes), _int(width), _int(height),
                                                 self._opts(opts)))

    # -- keypoints, tracking ----------------------------------------------------------------
    def lua_reshape_keypoints(self, points: Any, count: Any = None, dim: Any = None) -> Any:
        d = self._opts(dim) if self._bridge.type_of(dim) == "table" else self._val(dim)
        return self.out(_ops().reshape_keypoints(self._val(points), self._val(_int(count)),
                                                 _int(d)))

    def lua_scale_boxes(self, boxes: Any, transform: Any = None) -> Any:
        return self.out(_ops().scale_boxes(self._val(boxes), self._opts(transform, False)))

    def lua_clip_boxes(self, boxes: Any, width: Any = None, height: Any = None) -> Any:
        return self.out(_ops().clip_boxes(self._val(boxes), width, height))

    def lua_scale_points(self, points: Any, transform: Any = None, opts: Any = None) -> Any:
        return self.out(_ops().scale_points(self._val(points), self._opts(transform, False),
                                            self._opts(opts)))

    def lua_scale_keypoints(self, points: Any, transform: Any = None, opts: Any = None) -> Any:
        return self.out(_ops().scale_keypoints(self._val(points), self._opts(transform, False),
                                               self._opts(opts)))

    def lua_clip_keypoints(self, points: Any, width: Any = None, height: Any = None,
                           opts: Any = None) -> Any:
        return self.out(_ops().clip_keypoints(self._val(points), width, height,
                                              self._opts(opts)))

    def lua_tracker(self, opts: Any = None) -> Any:
        return self._wrap(b"tracker", _ops().tracker(self._opts(opts)))

    def _tracks(self, tracks: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for t in tracks:
            t["detection_index"] += 1
        return tracks

    def lua_tracker_update(self, tr: Any, detections: Any = None, timestamp: Any = None) -> Any:
        dets = self._val(detections)
        if dets is None:
            dets = []
        return self.out(self._tracks(tr.update(dets, timestamp)))

    def lua_tracker_reset(self, tr: Any) -> Any:
        tr.reset()
        return True

    def lua_tracker_state(self, tr: Any) -> Any:
        state = tr.state()
        state["tracks"] = self._tracks(state["tracks"])
        return self.out(state)

    def lua_tracker_close(self, tr: Any) -> Any:
        tr.close()
        return True

    # -- text -------------------------------------------------------------------------------
    def lua_ctc_greedy_decode(self, logits: Any, opts: Any = None, joined: Any = None,
                              count: Any = None) -> Any:
        o = self._opts(opts)
        if type(joined) is bytes:  # a charset table, joined with NULs by ops.lua
            chars = joined.decode("utf-8").split("\0")
            if len(chars) != count:
                raise OptionError("option charset: its strings must not contain NUL bytes")
            o["charset"] = chars
        r = _ops().ctc_greedy_decode(self._val(logits), o)

        def one(d: dict[str, Any]) -> dict[str, Any]:
            d["indices"] = (d["indices"] + 1).tolist()
            if "probabilities" in d:
                d["probabilities"] = d["probabilities"].tolist()
            return d

        return self.out([one(d) for d in r] if isinstance(r, list) else one(r))

    def lua_sample_logits(self, logits: Any, opts: Any = None) -> Any:
        r = _ops().sample_logits(self._val(logits), self._opts(opts))
        return r + 1 if type(r) is int else self.out(self._plus1(r))

    # -- host: images and screen --------------------------------------------------------
    def lua_image_load_file(self, path: Any) -> Any:
        if type(path) is not bytes:
            raise InputError(f"expected a path, got "
                                     f"{_common.show(self._val(path))}")
        return self.out(HostImage(_ops().load_image(os.fsdecode(path))))

    def lua_image_load_data(self, data: Any) -> Any:
        if type(data) is not bytes:
            raise InputError(f"expected image bytes (a string), got "
                                     f"{_common.show(self._val(data))}")
        return self.out(HostImage(_ops().load_image(data)))

    def lua_image_new(self, width: Any, height: Any = None) -> Any:
        w, h = _int(width), _int(height)
        if type(w) is not int or type(h) is not int or w <= 0 or h <= 0:
            raise InputError(f"width and height must be positive integers, "
                                     f"got {_common.show(w)} and {_common.show(h)}")
        image = _ops()._image._pil()
        return self.out(HostImage(image.new("RGBA", (w, h), (0, 0, 0, 255))))

    def lua_img_size(self, img: HostImage) -> Any:
        return img.pil.size

    def _xy(self, img: HostImage, x: Any, y: Any) -> tuple[int, int]:
        xi, yi = _int(x), _int(y)
        w, h = img.pil.size
        if type(xi) is not int or type(yi) is not int or not (0 <= xi < w and 0 <= yi < h):
            raise InputError(f"pixel ({_common.show(xi)}, {_common.show(yi)}) is "
                                     f"outside the {w}x{h} image (x 0..{w - 1}, y 0..{h - 1})")
        return xi, yi

    def lua_img_get_color(self, img: HostImage, x: Any = None, y: Any = None) -> Any:
        px = img.pil.getpixel(self._xy(img, x, y))
        return (px[0] << 16) | (px[1] << 8) | px[2]

    def lua_img_get_rgba(self, img: HostImage, x: Any = None, y: Any = None) -> Any:
        px = img.pil.getpixel(self._xy(img, x, y))
        return (*px[:3], px[3] if len(px) > 3 else 255)

    def lua_img_set_color(self, img: HostImage, x: Any = None, y: Any = None,
                          color: Any = None) -> Any:
        c = _int(color)
        if type(c) is not int or not 0 <= c <= 0xFFFFFF:
            raise InputError(f"color must be an integer 0xRRGGBB, got "
                                     f"{_common.show(c)}")
        rgb = ((c >> 16) & 255, (c >> 8) & 255, c & 255)
        img.pil.putpixel(self._xy(img, x, y), (*rgb, 255) if img.pil.mode == "RGBA" else rgb)
        return True

    def _encoded(self, img: HostImage, fmt: str, quality: Any) -> bytes:
        buf = io.BytesIO()
        if fmt == "JPEG":
            q = 90 if quality is None else _int(quality)
            if type(q) is not int or not 1 <= q <= 100:
                raise InputError(f"jpeg quality must be an integer 1..100, got "
                                         f"{_common.show(q)}")
            img.pil.convert("RGB").save(buf, "JPEG", quality=q)
        else:
            img.pil.save(buf, "PNG")
        return buf.getvalue()

    def lua_img_png_data(self, img: HostImage) -> Any:
        return self._encoded(img, "PNG", None)

    def lua_img_jpeg_data(self, img: HostImage, quality: Any = None) -> Any:
        return self._encoded(img, "JPEG", quality)

    def _save(self, img: HostImage, path: Any, fmt: str, quality: Any) -> Any:
        if type(path) is not bytes:
            raise InputError(f"expected a file path, got {_common.show(path)}")
        data = self._encoded(img, fmt, quality)
        try:
            with open(os.fsdecode(path), "wb") as f:
                f.write(data)
        except OSError as exc:
            raise InputError(f"cannot write {os.fsdecode(path)}: "
                                     f"{exc.strerror}") from None
        return True

    def lua_img_save_to_png_file(self, img: HostImage, path: Any = None) -> Any:
        return self._save(img, path, "PNG", None)

    def lua_img_save_to_jpeg_file(self, img: HostImage, path: Any = None,
                                  quality: Any = None) -> Any:
        return self._save(img, path, "JPEG", quality)

    def lua_img_copy(self, img: HostImage) -> Any:
        return self.out(HostImage(img.pil.copy()))

    def lua_img_crop(self, img: HostImage, x1: Any = None, y1: Any = None, x2: Any = None,
                     y2: Any = None) -> Any:
        w, h = img.pil.size
        box = [_int(v) for v in (x1, y1, x2, y2)]
        if (not all(type(v) is int for v in box) or not (0 <= box[0] < box[2] <= w)
                or not (0 <= box[1] < box[3] <= h)):
            raise InputError(f"crop ({', '.join(_common.show(v) for v in box)}) must "
                                     f"be left, top, right, bottom within the {w}x{h} image")
        return self.out(HostImage(img.pil.crop(tuple(box))))

    def lua_screen_image(self, *box: Any) -> Any:
        if self.screen is None:
            return None, (b"screen.image(): no screen on the desktop host; run the script with "
                          b"ortsession lua --screen IMAGE_FILE SCRIPT")
        img = HostImage(_ops().load_image(self.screen))
        if any(v is not None for v in box):
            return self.lua_img_crop(img, *box)
        return self.out(img)

    def lua_screen_size(self) -> Any:
        if self.screen is None:
            return None, b"screen.size(): no screen (ortsession lua --screen IMAGE_FILE)"
        size = _ops().load_image(self.screen).size
        return size

    def lua_repr(self, obj: Any) -> Any:
        return repr(obj).encode("utf-8", "replace")

    # -- host: json, base64 ---------------------------------------------------------------
    def lua_json_encode(self, value: Any) -> Any:
        v = self._bridge.from_lua(value) if self._bridge.type_of(value) == "table" else (
            self._val(value))
        try:
            return json.dumps(v, ensure_ascii=False, allow_nan=False).encode()
        except (TypeError, ValueError) as exc:
            raise InputError(f"the value cannot be encoded ({exc})") from None

    def lua_json_decode(self, text: Any) -> Any:
        if type(text) is not bytes:
            raise InputError(f"expected a string, got "
                                     f"{_common.show(self._val(text))}")
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise InputError(f"invalid JSON ({exc})") from None
        return self.out(value)

    def lua_base64_encode(self, data: Any) -> Any:
        if type(data) is not bytes:
            raise InputError("expected a string")
        return base64.b64encode(data)

    def lua_base64_decode(self, data: Any) -> Any:
        if type(data) is not bytes:
            raise InputError("expected a string")
        try:
            return base64.b64decode(data + b"=" * (-len(data) % 4), validate=False)
        except (binascii.Error, ValueError) as exc:
            raise InputError(f"invalid base64 ({exc})") from None


class _LuaDecoder:
    """A decoder for Lua: the Python decoder and the schema as the script gave it."""

    __slots__ = ("__weakref__", "decoder", "given")

    def __init__(self, decoder: Any, given: Mapping[str, Any]) -> None:
        self.decoder = decoder
        self.given = dict(given)

    def __repr__(self) -> str:
        return f"decoder ({self.decoder.task()})"


_PREFIXES: Final = (("t_", "tensor:"), ("decoder_", "decoder:"), ("tracker_", "tracker:"),
                    ("img_", "image:"), ("image_", "image."), ("screen_", "screen."),
                    ("json_", "json."), ("base64_", "string.base64_"))


def _lua_name(name: str) -> str:
    if name == "image_from_tensor":
        return "onnxruntime.image_from_tensor()"
    for prefix, lua in _PREFIXES:
        if name.startswith(prefix):
            return f"{lua}{name[len(prefix):]}()"
    return f"onnxruntime.{name}()"


def _arity(fn: Callable[..., Any]) -> int | None:
    """Return the most positional arguments ``fn`` takes (``None``: any number)."""
    params = inspect.signature(fn).parameters.values()
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return None
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)


def _guard(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a bridge function: Lua wording for messages; an exception becomes ``nil, err``.

    Trailing ``nil`` arguments beyond the function's are dropped (Lua passes them when a script
    writes ``f(a, nil)``); more arguments than it takes is an error naming both counts.
    """
    where = _lua_name(name)
    bare = where.split(":")[-1].split(".")[-1].rstrip("()")
    lua = _common._LUA
    most = _arity(fn)
    own = 1 if ":" in where else 0  # a method's first argument is its object

    @functools.wraps(fn)
    def guarded(*args: Any) -> Any:
        if most is not None and len(args) > most:
            while len(args) > most and args[-1] is None:
                args = args[:-1]
            if len(args) > most:
                return None, (f"{where}: too many arguments ({len(args) - own} given, at most "
                              f"{most - own})").encode()
        token = lua.set(True)
        try:
            return fn(*args)
        except Exception as exc:
            text = str(exc) if isinstance(exc, (OrtError, ImportError)) else (
                f"{type(exc).__name__}: {exc}")
            if text.startswith(bare + ": "):
                text = text[len(bare) + 2:]
            return None, f"{where}: {text}".encode("utf-8", "replace")
        finally:
            lua.reset(token)

    return guarded


def install(runtime: Any, bridge: Bridge, internals: Any, source: Callable[[str], bytes]) -> None:
    """Add the tensor module to ``require("onnxruntime")`` and install the host globals."""
    ops = OpsBridge(runtime, bridge, internals)
    load = runtime.eval("load")
    table = ops.table()
    load(source("ops.lua"), b"=onnxruntime ops.lua")(table, internals)
    load(source("host_globals.lua"), b"=ortsession host_globals.lua")(table, internals)
    runtime._ortsession_ops = ops


def set_screen(runtime: Any, path: str | os.PathLike[str] | None) -> None:
    """Make ``screen.image()`` in ``runtime`` read the image file ``path`` (``None``: no screen).

    The desktop stand-in for the host's screen: ``ortsession lua --screen FILE`` sets it.

    Raises:
        TypeError: ``runtime`` was not made by :func:`ortsession.lua.new_runtime`.
        FileNotFoundError: ``path`` is not a file.
    """
    ops = getattr(runtime, "_ortsession_ops", None)
    if not isinstance(ops, OpsBridge):
        raise TypeError(f"expected a runtime made by ortsession.lua.new_runtime(), got "
                        f"{type(runtime).__name__}")
    if path is not None and not os.path.isfile(path):
        raise FileNotFoundError(f"screen image {os.fspath(path)!r} is not a file")
    ops.screen = None if path is None else os.fspath(path)
