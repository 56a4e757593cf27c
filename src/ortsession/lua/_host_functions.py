"""The Python half of the desktop host objects: ``image``, ``screen``, ``json``, base64.

``host_globals.lua`` installs stand-ins for the globals a host gives scripts (the ``image``,
``screen`` and ``json`` tables, ``string.base64_encode``/``_decode``); each calls a function of
:class:`HostFunctions` by name. Images are Pillow images (:class:`._ops_values.HostImage`).
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import os
from typing import Any

import numpy as np

from ortsession import InputError
from ortsession.ops import _common

from ._convert import lua_int
from ._ops_values import HostImage, OpsValues, ops

__all__ = ["HostFunctions"]


class HostFunctions(OpsValues):
    """The functions of the host globals (``image_new`` is ``image.new``, ``img_`` methods)."""

    # -- host: images and screen --------------------------------------------------------
    def lua_image_load_file(self, path: Any) -> Any:
        if type(path) is not bytes:
            raise InputError(f"expected a path, got "
                                     f"{_common.show(self._val(path))}")
        return self.out(HostImage(ops().load_image(os.fsdecode(path))))

    def lua_image_load_data(self, data: Any) -> Any:
        if type(data) is not bytes:
            raise InputError(f"expected image bytes (a string), got "
                                     f"{_common.show(self._val(data))}")
        return self.out(HostImage(ops().load_image(data)))

    def lua_image_new(self, width: Any, height: Any = None) -> Any:
        w, h = lua_int(width), lua_int(height)
        if type(w) is not int or type(h) is not int or w <= 0 or h <= 0:
            raise InputError(f"width and height must be positive integers, "
                                     f"got {_common.show(w)} and {_common.show(h)}")
        black = np.zeros((h, w, 4), dtype=np.uint8)
        black[..., 3] = 255  # opaque
        return self.out(HostImage(ops().load_image(black)))

    def lua_img_size(self, img: HostImage) -> Any:
        return img.pil.size

    def _xy(self, img: HostImage, x: Any, y: Any) -> tuple[int, int]:
        xi, yi = lua_int(x), lua_int(y)
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
        c = lua_int(color)
        if type(c) is not int or not 0 <= c <= 0xFFFFFF:
            raise InputError(f"color must be an integer 0xRRGGBB, got "
                                     f"{_common.show(c)}")
        rgb = ((c >> 16) & 255, (c >> 8) & 255, c & 255)
        img.pil.putpixel(self._xy(img, x, y), (*rgb, 255) if img.pil.mode == "RGBA" else rgb)
        return True

    def _encoded(self, img: HostImage, fmt: str, quality: Any) -> bytes:
        buf = io.BytesIO()
        if fmt == "JPEG":
            q = 90 if quality is None else lua_int(quality)
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
        box = [lua_int(v) for v in (x1, y1, x2, y2)]
        if (not all(type(v) is int for v in box) or not (0 <= box[0] < box[2] <= w)
                or not (0 <= box[1] < box[3] <= h)):
            raise InputError(f"crop ({', '.join(_common.show(v) for v in box)}) must "
                                     f"be left, top, right, bottom within the {w}x{h} image")
        return self.out(HostImage(img.pil.crop(tuple(box))))

    def lua_screen_image(self, *box: Any) -> Any:
        if self.screen is None:
            return None, (b"screen.image(): no screen on the desktop host; run the script with "
                          b"ortsession lua --screen IMAGE_FILE SCRIPT")
        img = HostImage(ops().load_image(self.screen))
        if any(v is not None for v in box):
            return self.lua_img_crop(img, *box)
        return self.out(img)

    def lua_screen_size(self) -> Any:
        if self.screen is None:
            return None, b"screen.size(): no screen (ortsession lua --screen IMAGE_FILE)"
        size = ops().load_image(self.screen).size
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

