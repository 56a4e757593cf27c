"""A real recogniser: PaddleOCR's PP-OCRv4 text recogniser through tensor_from_image and CTC.

The model ships inside the ``rapidocr-onnxruntime`` wheel (``pip install --no-deps
rapidocr-onnxruntime``: only its model files are used, the package is never imported), or is named
by ``ORTSESSION_OCR_REC_MODEL``. Without either the test is skipped. Its charset is the model's own
``character`` metadata plus a space (6624 entries for 6625 classes: class 0 is the blank).
"""

from __future__ import annotations

import importlib.util
import io
import os
from pathlib import Path

import pytest

PIL_Image = pytest.importorskip("PIL.Image")
from PIL import ImageDraw, ImageFont  # noqa: E402

import ortsession as ort  # noqa: E402
import ortsession.ops as ops  # noqa: E402

TEXT = "Hello 2026"


def rec_model() -> Path:
    given = os.environ.get("ORTSESSION_OCR_REC_MODEL")
    if given:
        return Path(given)
    spec = importlib.util.find_spec("rapidocr_onnxruntime")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("no PaddleOCR recogniser: pip install --no-deps rapidocr-onnxruntime, or set "
                    "ORTSESSION_OCR_REC_MODEL")
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / \
        "ch_PP-OCRv4_rec_infer.onnx"
    if not path.is_file():
        pytest.skip(f"{path} is missing")
    return path


@pytest.fixture(scope="module")
def line_png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    img = PIL_Image.new("RGB", (320, 48), "white")
    try:
        font = ImageFont.load_default(size=32)
    except TypeError:  # Pillow without FreeType: a bitmap font too small to read
        pytest.skip("Pillow cannot draw a scalable font here")
    ImageDraw.Draw(img).text((8, 6), TEXT, fill="black", font=font)
    path = tmp_path_factory.mktemp("ocr") / "line.png"
    img.save(path)
    return path


def test_paddle_recogniser_reads_the_line(line_png: Path) -> None:
    session = ort.session(rec_model())
    charset = [*session.metadata().custom_metadata["character"].splitlines(), " "]
    x, _ = ops.tensor_from_image(line_png, width=320, height=48, mean=0.5, std=0.5)
    logits = session.run([x])[0]
    assert logits.shape == (1, 40, 6625)
    result = ops.ctc_greedy_decode(logits, charset=charset)[0]
    assert result["text"] == TEXT
    assert "confidence" not in result  # the model ends in softmax: ask for probabilities
    probs = ops.ctc_greedy_decode(logits, charset=charset, return_probabilities=True)[0]
    assert probs["confidence"] > 0.8 and len(probs["probabilities"]) == len(TEXT)


def test_paddle_recogniser_from_lua(line_png: Path) -> None:
    pytest.importorskip("lupa.lua54")
    from ortsession.lua import new_runtime, run_source

    script = f"""
    local ort = require("onnxruntime")
    local session = assert(ort.session({str(rec_model())!r}))
    local keys = assert(session:metadata().custom_metadata.character)
    local charset = string.split(keys, "\\n")
    charset[#charset + 1] = " "
    local line = assert(image.load_file({str(line_png)!r}))
    local x = assert(ort.tensor_from_image(line, {{width = 320, height = 48, mean = 0.5, std = 0.5}}))
    local logits = assert(session:run({{x}}))[1]
    local read = assert(ort.ctc_greedy_decode(logits, {{charset = charset, return_probabilities = true}}))
    print(read[1].text)
    """
    out, err = io.StringIO(), io.StringIO()
    rt = new_runtime(stdout=out, stderr=err)
    assert run_source(script, runtime=rt, stderr=err) == 0, err.getvalue()
    assert out.getvalue() == TEXT + "\n"
