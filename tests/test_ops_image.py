"""Image <-> tensor conversion against Pillow, and letterbox round trips to source coordinates."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

PIL_Image = pytest.importorskip("PIL.Image")

import ortsession as ort  # noqa: E402
import ortsession.ops as ops  # noqa: E402


def photo(w: int = 64, h: int = 48, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_sources_agree(tmp_path: Path) -> None:
    arr = photo()
    img = PIL_Image.fromarray(arr)
    path = tmp_path / "x.png"
    img.save(path)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    ref, _ = ops.tensor_from_image(arr)
    for source in (img, str(path), path, buf.getvalue(), ort.tensor("uint8", [48, 64, 3], arr)):
        got, info = ops.tensor_from_image(source)
        assert np.array_equal(got, ref)
        assert (info.src_width, info.src_height) == (64, 48)
    assert ref.shape == (1, 3, 48, 64)
    assert np.allclose(ref[0].transpose(1, 2, 0), arr / 255, atol=1e-6)


def test_stretch_matches_pillow_resize() -> None:
    arr = photo(97, 61)
    img = PIL_Image.fromarray(arr)
    for interp, resample in (("bilinear", PIL_Image.Resampling.BILINEAR),
                             ("nearest", PIL_Image.Resampling.NEAREST)):
        got, info = ops.tensor_from_image(img, width=40, height=30, interpolation=interp,
                                          layout="hwc", data_type="uint8")
        ref = np.asarray(img.resize((40, 30), resample=resample))
        assert np.array_equal(got, ref)
        assert (info.scale_x, info.scale_y) == (40 / 97, 30 / 61)


def test_layouts_orders_normalisation() -> None:
    arr = photo(8, 6)
    hwc, _ = ops.tensor_from_image(arr, layout="hwc", scale=1.0)
    assert hwc.shape == (6, 8, 3) and np.array_equal(hwc, arr.astype(np.float32))
    nhwc, _ = ops.tensor_from_image(arr, layout="nhwc", channel_order="bgr", scale=1.0)
    assert np.array_equal(nhwc[0], arr[:, :, ::-1].astype(np.float32))
    chw, _ = ops.tensor_from_image(arr, layout="chw", mean=[0.5, 0.4, 0.3], std=[0.2, 0.2, 0.1])
    ref = (arr / 255 - np.array([0.5, 0.4, 0.3])) / np.array([0.2, 0.2, 0.1])
    assert np.allclose(chw, ref.transpose(2, 0, 1), atol=1e-5)
    gray, info = ops.tensor_from_image(arr, channel_order="grey", data_type="uint8")
    assert gray.shape == (1, 1, 6, 8) and info.channel_order == "gray"
    assert np.array_equal(gray[0, 0], np.asarray(PIL_Image.fromarray(arr).convert("L")))
    f16, _ = ops.tensor_from_image(arr, data_type="float16", add_batch=False)
    assert f16.dtype == np.float16 and f16.shape == (3, 6, 8)


def test_alpha_modes() -> None:
    rgba = np.zeros((2, 2, 4), dtype=np.uint8)
    rgba[..., 0] = 200
    rgba[..., 3] = [[0, 255], [128, 255]]
    kw = {"layout": "hwc", "data_type": "uint8"}
    assert ops.tensor_from_image(rgba, **kw)[0][0, 0].tolist() == [200, 0, 0]
    assert ops.tensor_from_image(rgba, alpha_mode="white", **kw)[0][0, 0].tolist() == [
        255, 255, 255]
    assert ops.tensor_from_image(rgba, alpha_mode="black", **kw)[0][0, 0].tolist() == [0, 0, 0]
    pm = ops.tensor_from_image(rgba, alpha_mode="premultiply", **kw)[0]
    assert pm[1, 0].tolist() == [round(200 * 128 / 255), 0, 0]


def test_crop_and_info() -> None:
    arr = photo(100, 80)
    got, info = ops.tensor_from_image(arr, crop={"x": 10, "y": 20, "width": 30, "height": 40},
                                      layout="hwc", data_type="uint8")
    assert np.array_equal(got, arr[20:60, 10:40])
    assert (info.crop_x, info.crop_y, info.crop_width, info.crop_height) == (10, 20, 30, 40)
    with pytest.raises(ort.OptionError, match="does not fit the 100x80 image"):
        ops.tensor_from_image(arr, crop=[90, 0, 20, 10])


def test_letterbox_info_and_padding() -> None:
    arr = np.full((1080, 1920, 3), 200, dtype=np.uint8)
    t, info = ops.tensor_from_image(arr, width=640, height=640, resize_mode="letterbox",
                                    pad_color=[114, 114, 114], scale=1.0)
    assert t.shape == (1, 3, 640, 640)
    d = info.to_dict()
    assert {k: d[k] for k in ("resized_width", "resized_height", "pad_left", "pad_top",
                              "pad_right", "pad_bottom", "offset_x", "offset_y")} == {
        "resized_width": 640, "resized_height": 360, "pad_left": 0, "pad_top": 140,
        "pad_right": 0, "pad_bottom": 140, "offset_x": 0, "offset_y": 140}
    assert info.ratio == pytest.approx(1 / 3)
    assert t[0, :, 139, :].max() == 114 and t[0, :, 140, :].min() == 200
    t, info = ops.tensor_from_image(arr, width=640, height=640, resize_mode="letterbox",
                                    letterbox_mode="top_left")
    assert (info.pad_top, info.pad_bottom) == (0, 280)
    assert len(d) == 22


def test_center_crop() -> None:
    arr = photo(200, 100)
    t, info = ops.tensor_from_image(arr, width=50, height=50, resize_mode="center_crop",
                                    layout="hwc", data_type="uint8")
    assert t.shape == (50, 50, 3)
    assert (info.resized_width, info.resized_height, info.offset_x, info.offset_y) == (
        100, 50, -25, 0)
    ref = np.asarray(PIL_Image.fromarray(arr).resize((100, 50), PIL_Image.Resampling.BILINEAR))
    assert np.array_equal(t, ref[:, 25:75])


@settings(max_examples=40, deadline=None)
@given(st.integers(20, 400), st.integers(20, 400), st.integers(16, 128), st.integers(16, 128),
       st.sampled_from(["letterbox", "stretch", "center_crop"]), st.booleans())
def test_round_trip_box_to_source(sw: int, sh: int, dw: int, dh: int, mode: str,
                                  crop: bool) -> None:
    """A box drawn in the source, mapped forward by the info and back by scale_boxes."""
    arr = np.zeros((sh, sw, 3), dtype=np.uint8)
    opts = {"width": dw, "height": dh, "resize_mode": mode}
    if crop:
        opts["crop"] = {"x": sw // 4, "y": sh // 5, "width": sw // 2, "height": sh // 2}
    _, info = ops.tensor_from_image(arr, opts)
    src = np.array([[sw * 0.3, sh * 0.4, sw * 0.6, sh * 0.7]])
    fwd = np.empty_like(src)
    fwd[:, 0::2] = (src[:, 0::2] - info.crop_x) * info.scale_x + info.offset_x
    fwd[:, 1::2] = (src[:, 1::2] - info.crop_y) * info.scale_y + info.offset_y
    assert np.allclose(ops.scale_boxes(fwd, info), src)
    assert np.allclose(ops.scale_boxes(fwd, info.to_dict()), src)


def test_letterboxed_square_lands_where_it_was() -> None:
    """A white square in a wide image, letterboxed, found in the tensor, mapped back."""
    arr = np.zeros((300, 900, 3), dtype=np.uint8)
    arr[120:180, 450:540] = 255
    t, info = ops.tensor_from_image(arr, width=320, height=320, resize_mode="letterbox",
                                    pad_color=0, interpolation="nearest")
    ys, xs = np.nonzero(t[0, 0] > 0.5)
    box = np.array([[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]], dtype=np.float64)
    assert np.allclose(ops.scale_boxes(box, info), [[450, 120, 540, 180]], atol=3)


def test_tensor_from_images() -> None:
    batch, infos = ops.tensor_from_images([photo(30, 20), photo(10, 40, 1)], width=16, height=16,
                                          resize_mode="letterbox")
    assert batch.shape == (2, 3, 16, 16) and len(infos) == 2
    assert infos[1].src_height == 40
    with pytest.raises(ort.InputError, match="give width and height"):
        ops.tensor_from_images([photo(30, 20), photo(10, 40)])
    with pytest.raises(ort.InputError, match="image 2"):
        ops.tensor_from_images([photo(), "/no/such.png"])


def test_image_from_tensor_round_trip() -> None:
    arr = photo(12, 10)
    t, _ = ops.tensor_from_image(arr)
    img = ops.image_from_tensor(t)
    assert img.mode == "RGB" and np.array_equal(np.asarray(img), arr)
    t, _ = ops.tensor_from_image(arr, channel_order="bgr", layout="nhwc", mean=0.5, std=0.25)
    img = ops.image_from_tensor(t, layout="nhwc", channel_order="bgr", mean=0.5, std=0.25)
    assert np.array_equal(np.asarray(img), arr)
    u8, _ = ops.tensor_from_image(arr, data_type="uint8", layout="chw")
    assert np.array_equal(np.asarray(ops.image_from_tensor(u8)), arr)
    gray = ops.image_from_tensor(np.full((4, 5), 0.5, dtype=np.float32))
    assert gray.mode == "L" and gray.size == (5, 4) and np.asarray(gray)[0, 0] == 128
    assert np.asarray(ops.image_from_tensor(np.full((1, 1, 2, 2), 3.0), scale=1 / 255,
                                            clamp=True))[0, 0] == 255
    with pytest.raises(ort.TensorError, match=r"outside 0..255"):
        ops.image_from_tensor(np.full((1, 1, 2, 2), 3.0), clamp=False)
    with pytest.raises(ort.TensorError, match="1 or 3 channels"):
        ops.image_from_tensor(np.zeros((1, 2, 4, 4)), layout="nchw")
    two = np.stack([t[0], t[0] * 0])
    assert np.asarray(ops.image_from_tensor(two, layout="nhwc", batch_index=1,
                                            channel_order="bgr")).max() == 0


def test_image_errors(tmp_path: Path) -> None:
    with pytest.raises(ort.InputError, match="no such image file"):
        ops.tensor_from_image(str(tmp_path / "missing.png"))
    (tmp_path / "bad.png").write_bytes(b"not an image")
    with pytest.raises(ort.InputError, match="not an image"):
        ops.tensor_from_image(tmp_path / "bad.png")
    with pytest.raises(ort.InputError, match="uint8"):
        ops.tensor_from_image(np.zeros((4, 4, 3), dtype=np.float32))
    with pytest.raises(ort.OptionError, match="both width and height"):
        ops.tensor_from_image(photo(), width=3)
    with pytest.raises(ort.OptionError, match=r'option layout must be one of "nchw"'):
        ops.tensor_from_image(photo(), layout="cwh")
    with pytest.raises(ort.OptionError, match="did you mean resize_mode"):
        ops.tensor_from_image(photo(), resize_mod="letterbox")
