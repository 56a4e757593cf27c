"""The Python half of the Lua tensor module (SPEC §12) and of the desktop host objects.

``ops.lua`` adds the tensor module to ``require("onnxruntime")`` and ``host_globals.lua`` installs
the host stand-ins; both call the functions of :class:`OpsBridge`: the tensor methods
(:class:`._tensor_methods.TensorMethods`), the host's (:class:`._host_functions.HostFunctions`)
and, here, the module functions on images, boxes, detections, masks, keypoints, tracking and
text. Each applies Lua's conventions (1-based positions, ``stop`` inclusive, class ids and blank
index 1-based) around the Python functions of :mod:`ortsession.ops`. Failures return
``(None, message)``: Lua's ``nil, err``, worded for Lua (:data:`ortsession.ops._common.LUA_CALLER`).
Which function becomes which Lua method or module function is declared once, in
:data:`EXPORTS`; ``ops.lua`` builds its objects from it.
"""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Callable, Mapping
from typing import Any, Final

from ortsession import OptionError, OrtError
from ortsession.ops import _common

from ._api import Exports, lua_table
from ._bridge import Bridge
from ._convert import lua_int
from ._host_functions import HostFunctions
from ._ops_values import HostImage, ops, shift_positions
from ._tensor_methods import TensorMethods

__all__ = ["EXPORTS", "OpsBridge", "install", "set_screen"]

EXPORTS: Final = Exports(
    classes=(("t_", "tensor"), ("decoder_", "decoder"), ("tracker_", "tracker"),
             ("img_", "image")),
    globals=(("image_", "image."), ("screen_", "screen."), ("json_", "json."),
             ("base64_", "string.base64_")),
    functions=frozenset({"image_from_tensor"}),
    internal=frozenset({"repr"}),
    tensor_methods=("clamp", "sigmoid", "exp", "matmul"),
)
"""Where each ``lua_`` function of :class:`OpsBridge` goes in Lua (``ops.lua``,
``host_globals.lua``)."""


class OpsBridge(TensorMethods, HostFunctions):
    """The functions ``ops.lua`` and ``host_globals.lua`` call, bound to one runtime."""

    def table(self) -> Any:
        """Return the Lua table of functions (``lua_x`` is ``x``), each guarded.

        Its ``api`` entry says which are methods and module functions (:data:`EXPORTS`).
        """
        functions: dict[bytes, Any] = {}
        names = [name[4:] for name in dir(self) if name.startswith("lua_")]
        for name in names:
            functions[name.encode()] = _guard(name, getattr(self, "lua_" + name))
        functions[b"api"] = lua_table(self._table_from, EXPORTS.lua_table(names))
        return self._table_from(functions)

    # -- images -------------------------------------------------------------------------
    def lua_tensor_from_image(self, image: Any, opts: Any = None) -> Any:
        arr, info = ops().tensor_from_image(self._image_arg(image), self._opts(opts, False))
        return self.out(arr), self.out(info.to_dict())

    def lua_tensor_from_images(self, images: Any, opts: Any = None) -> Any:
        items: Any = self._val(images) if self._bridge.type_of(images) != "table" else (
            self._bridge.classify(images))
        if type(items) is int:  # a plain Lua table: an array of images, paths or image data
            items = [self._image_arg(images[i]) for i in range(1, len(images) + 1)]
        arr, infos = ops().tensor_from_images(items, self._opts(opts, False))
        return self.out(arr), self.out([i.to_dict() for i in infos])

    def lua_image_from_tensor(self, t: Any, opts: Any = None) -> Any:
        return self.out(HostImage(ops().image_from_tensor(self._val(t), self._opts(opts))))

    # -- boxes ----------------------------------------------------------------------------
    def lua_nms(self, boxes: Any, scores: Any = None, opts: Any = None) -> Any:
        o = self._opts(opts)
        if "class_ids" in o:
            o["class_ids"] = self._val(o["class_ids"])
        return self.out(self._plus1(ops().nms(self._val(boxes), self._val(scores), o)))

    def lua_rotated_nms(self, boxes: Any, scores: Any = None, opts: Any = None) -> Any:
        return self.out(self._plus1(ops().rotated_nms(self._val(boxes), self._val(scores),
                                                       self._opts(opts))))

    def lua_box_points(self, boxes: Any) -> Any:
        b = _common.float_array(self._val(boxes), "rotated_boxes", ndim=(1, 2))
        pts = ops().box_points(b).tolist()
        if b.ndim == 2 and b.shape[0] == 1:
            pts = pts[0]
        return self.out(pts)

    def lua_xywh_to_xyxy(self, boxes: Any) -> Any:
        return self.out(ops().xywh_to_xyxy(self._val(boxes)))

    def lua_xyxy_to_xywh(self, boxes: Any) -> Any:
        return self.out(ops().xyxy_to_xywh(self._val(boxes)))

    def lua_rotated_iou(self, a: Any, b: Any = None) -> Any:
        return self.out(ops().rotated_iou(self._val(a), self._val(b)))

    # -- decoding -------------------------------------------------------------------------
    def _detections(self, d: Any) -> Any:
        out = {"boxes": d.boxes, "scores": d.scores, "class_ids": self._plus1(d.class_ids),
               "keep_indices": self._plus1(d.keep_indices),
               "selected_rows": self._plus1(d.selected_rows)}
        if d.angles is not None:
            out["angles"] = d.angles
        return self.out(out)

    def lua_decode_yolo(self, output: Any, opts: Any = None) -> Any:
        return self._detections(ops().decode_yolo(self._val(output), self._opts(opts)))

    def lua_decode_yolo_obb(self, output: Any, opts: Any = None) -> Any:
        return self._detections(ops().decode_yolo_obb(self._val(output),
                                                       self._opts(opts)))

    def lua_decode_matrix_candidates(self, output: Any, schema: Any = None,
                                     opts: Any = None) -> Any:
        return self._detections(ops().decode_matrix_candidates(
            self._val(output), self._opts(schema), self._opts(opts)))

    def lua_decode_dense_detection(self, output: Any, opts: Any = None) -> Any:
        r = ops().decode_dense_detection(self._val(output), self._opts(opts))

        def one(d: dict[str, Any]) -> dict[str, Any]:
            return {**d, "labels": self._plus1(d["labels"])}

        return self.out([one(d) for d in r] if isinstance(r, list) else one(r))

    def lua_create_decoder(self, schema: Any = None) -> Any:
        given = self._opts(schema, False)
        decoder = ops().create_decoder(shift_positions(dict(given)))
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
        return self._row_index(ops().records_from_boxes(
            self._val(boxes), self._val(scores), self._val(class_ids), self._keep(keep)))

    def lua_obb_records_from_rows(self, rows: Any, scores: Any = None, class_ids: Any = None,
                                  angles: Any = None, keep: Any = None, opts: Any = None) -> Any:
        return self._row_index(ops().obb_records_from_rows(
            self._val(rows), self._val(scores), self._val(class_ids),
            None if angles is None else self._val(angles), self._keep(keep),
            self._opts(opts)))

    def lua_points_to_records(self, points: Any, opts: Any = None) -> Any:
        return self.out(ops().points_to_records(self._val(points), self._opts(opts)))

    # -- masks ----------------------------------------------------------------------------
    def lua_threshold_masks(self, masks: Any, threshold: Any = None) -> Any:
        return self._mask_out(ops().threshold_masks(self._masks(masks),
                                                     0.5 if threshold is None else threshold))

    def lua_crop_masks_by_boxes(self, masks: Any, boxes: Any = None) -> Any:
        return self.out(ops().crop_masks_by_boxes(self._masks(masks), self._val(boxes)))

    def lua_resize_masks(self, masks: Any, width: Any = None, height: Any = None,
                         opts: Any = None) -> Any:
        return self.out(ops().resize_masks(self._masks(masks), lua_int(width), lua_int(height),
                                            self._opts(opts)))

    def lua_mask_iou(self, a: Any, b: Any = None, opts: Any = None) -> Any:
        return self.out(ops().mask_iou(self._masks(a), self._masks(b), self._opts(opts)))

    def lua_mask_to_polygon(self, mask: Any, opts: Any = None) -> Any:
        return self.out(ops().mask_to_polygon(self._masks(mask), self._opts(opts)))

    def lua_proto_masks(self, proto: Any, coeffs: Any = None, boxes: Any = None,
                        width: Any = None, height: Any = None, opts: Any = None) -> Any:
        return self._mask_out(ops().proto_masks(self._val(proto), self._val(coeffs),
                                                 self._val(boxes), lua_int(width), lua_int(height),
                                                 self._opts(opts)))

    # -- keypoints, tracking ----------------------------------------------------------------
    def lua_reshape_keypoints(self, points: Any, count: Any = None, dim: Any = None) -> Any:
        d = self._opts(dim) if self._bridge.type_of(dim) == "table" else self._val(dim)
        return self.out(ops().reshape_keypoints(self._val(points), self._val(lua_int(count)),
                                                 lua_int(d)))

    def lua_scale_boxes(self, boxes: Any, transform: Any = None) -> Any:
        return self.out(ops().scale_boxes(self._val(boxes), self._opts(transform, False)))

    def lua_clip_boxes(self, boxes: Any, width: Any = None, height: Any = None) -> Any:
        return self.out(ops().clip_boxes(self._val(boxes), width, height))

    def lua_scale_points(self, points: Any, transform: Any = None, opts: Any = None) -> Any:
        return self.out(ops().scale_points(self._val(points), self._opts(transform, False),
                                            self._opts(opts)))

    def lua_scale_keypoints(self, points: Any, transform: Any = None, opts: Any = None) -> Any:
        return self.out(ops().scale_keypoints(self._val(points), self._opts(transform, False),
                                               self._opts(opts)))

    def lua_clip_keypoints(self, points: Any, width: Any = None, height: Any = None,
                           opts: Any = None) -> Any:
        return self.out(ops().clip_keypoints(self._val(points), width, height,
                                              self._opts(opts)))

    def lua_tracker(self, opts: Any = None) -> Any:
        return self._wrap(b"tracker", ops().tracker(self._opts(opts)))

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
        r = ops().ctc_greedy_decode(self._val(logits), o)

        def one(d: dict[str, Any]) -> dict[str, Any]:
            d["indices"] = (d["indices"] + 1).tolist()
            if "probabilities" in d:
                d["probabilities"] = d["probabilities"].tolist()
            return d

        return self.out([one(d) for d in r] if isinstance(r, list) else one(r))

    def lua_sample_logits(self, logits: Any, opts: Any = None) -> Any:
        r = ops().sample_logits(self._val(logits), self._opts(opts))
        return r + 1 if type(r) is int else self.out(self._plus1(r))


class _LuaDecoder:
    """A decoder for Lua: the Python decoder and the schema as the script gave it."""

    __slots__ = ("__weakref__", "decoder", "given")

    def __init__(self, decoder: Any, given: Mapping[str, Any]) -> None:
        self.decoder = decoder
        self.given = dict(given)

    def __repr__(self) -> str:
        return f"decoder ({self.decoder.task()})"



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
    where = EXPORTS.where(name)
    bare = where.split(":")[-1].split(".")[-1].rstrip("()")
    lua = _common.LUA_CALLER
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
