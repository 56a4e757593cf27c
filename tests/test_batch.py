"""Batch inference from Python (``ortsession.batch``): sources, sinks, batching, bad rows, resume,
worker processes — on real models, real ONNX Runtime, real pyarrow and Pillow files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

import batch_models
import models
import ortsession as ort
from fresh_python import output_of
from ortsession import batch
from ortsession.batch._images import image_options, read_image


@pytest.fixture(scope="module")
def scale_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    return batch_models.write(tmp_path_factory.mktemp("m") / "scale.onnx", batch_models.scale())


def _x(n: int = 10) -> np.ndarray:
    return np.arange(n * 3, dtype=np.float32).reshape(n, 3)


# -- the public surface --------------------------------------------------------------------------
def test_public_surface_is_pinned_and_documented() -> None:
    assert set(batch.__all__) == {"BatchSummary", "RowError", "SourceError", "predict"}
    for name in batch.__all__:
        obj = getattr(batch, name)
        assert obj.__module__ == "ortsession.batch"
        assert obj.__doc__
    assert issubclass(batch.SourceError, ort.OptionError)


def test_import_ortsession_loads_neither_batch_nor_its_heavy_dependencies() -> None:
    code = ("import sys, ortsession; "
            "print([m for m in ('ortsession.batch', 'pyarrow', 'PIL', 'ray', 'rich') "
            "if m in sys.modules])")
    out = output_of(code)
    assert out.strip() == "[]"
    code = ("import sys, ortsession.batch; "
            "print([m for m in ('pyarrow', 'PIL', 'ray', 'rich') if m in sys.modules])")
    out = output_of(code)
    assert out.strip() == "[]"


# -- sources and sinks ---------------------------------------------------------------------------
def test_arrays_in_memory_give_every_row_in_order(scale_path: str) -> None:
    x = _x(10)
    summary = batch.predict(scale_path, {"x": x}, batch_size=4, workers=1)
    assert (summary.rows, summary.ok_rows, summary.error_rows) == (10, 10, 0)
    assert summary.batch_size == 4
    out = summary.outputs
    assert out is not None
    np.testing.assert_array_equal(out["row_id"], np.arange(10))
    np.testing.assert_array_equal(out["y"], 2 * x)
    np.testing.assert_array_equal(out["total"], x.sum(axis=1))


def test_a_lone_array_feeds_the_single_input_and_outputs_can_be_chosen(scale_path: str) -> None:
    summary = batch.predict(scale_path, _x(5), outputs=["total"], workers=1)
    assert summary.outputs is not None
    assert set(summary.outputs) == {"row_id", "total"}


def test_npy_and_npz_sources_to_npz_sink(tmp_path: Path, scale_path: str) -> None:
    x = _x(7)
    np.save(tmp_path / "x.npy", x)
    np.savez(tmp_path / "data.npz", x=x)
    for source in ("x.npy", "data.npz"):
        target = tmp_path / f"{source}.out.npz"
        summary = batch.predict(scale_path, tmp_path / source, target, batch_size=3, workers=1)
        assert summary.output == str(target)
        with np.load(target) as out:
            np.testing.assert_array_equal(out["row_id"], np.arange(7))
            np.testing.assert_array_equal(out["y"], 2 * x)
        with np.load(summary.errors_path) as errors:
            assert errors["row_id"].shape == (0,)
        assert not Path(str(target) + ".parts").exists()


def test_parquet_fixed_size_lists_and_tensor_columns_to_parquet_sink(tmp_path: Path) -> None:
    x = np.random.default_rng(0).random((12, 2, 3), dtype=np.float32)
    model = batch_models.write(tmp_path / "m.onnx", models.symbolic("N"))  # x [N, 3] → 2x
    flat = x[:, 0, :]
    folder = tmp_path / "in"
    folder.mkdir()
    lists = pa.FixedSizeListArray.from_arrays(pa.array(flat.reshape(-1)), 3)
    pq.write_table(pa.table({"x": lists[:8]}), folder / "a.parquet", row_group_size=3)
    pq.write_table(pa.table({"x": lists[8:]}), folder / "b.parquet")
    (folder / "_ignored.parquet").write_bytes(b"not parquet")
    summary = batch.predict(model, folder, tmp_path / "out", batch_size=2, workers=1)
    assert summary.ok_rows == 12
    table = pq.read_table(tmp_path / "out")
    assert table.column_names == ["row_id", "y"]
    table = table.sort_by("row_id")
    np.testing.assert_array_equal(table["row_id"].to_numpy(), np.arange(12))
    y = table["y"].combine_chunks().to_numpy_ndarray()
    np.testing.assert_allclose(y, 2 * flat)
    assert pq.read_table(tmp_path / "out" / "_errors.parquet").num_rows == 0
    manifest = json.loads((tmp_path / "out" / "_manifest.json").read_text())
    assert manifest["complete"] and manifest["rows_done"] == 12

    tensors = pa.FixedShapeTensorArray.from_numpy_ndarray(np.ascontiguousarray(flat[:, None, :]))
    pq.write_table(pa.table({"features": tensors}), tmp_path / "t.parquet")
    summary = batch.predict(model, tmp_path / "t.parquet", workers=1)  # mapped: one input left
    assert summary.outputs is not None
    np.testing.assert_allclose(summary.outputs["y"], 2 * flat)


def test_json_lines_with_bad_lines_are_recorded_and_the_job_goes_on(tmp_path: Path,
                                                                     scale_path: str) -> None:
    lines = ['{"x": [1, 2, 3]}', "not json", '{"x": [1, 2]}', '{"y": [1, 2, 3]}',
             '{"x": [4.5, 5, 6]}', '{"x": [7, 8, "a"]}']
    (tmp_path / "rows.jsonl").write_text("\n".join(lines) + "\n")
    summary = batch.predict(scale_path, tmp_path / "rows.jsonl", batch_size=8, workers=1)
    assert summary.outputs is not None
    np.testing.assert_array_equal(summary.outputs["row_id"], [0, 4])
    np.testing.assert_allclose(summary.outputs["y"], [[2, 4, 6], [9, 10, 12]])
    errors = {e.row_id: e.message for e in summary.errors}
    assert sorted(errors) == [1, 2, 3, 5]
    assert "not valid JSON" in errors[1]
    assert "expected a row of shape [3], got [2]" in errors[2]
    assert "no field 'x'" in errors[3]
    assert "input 'x'" in errors[5]


def test_image_folder_decoded_with_the_declared_options(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    (folder / "sub").mkdir(parents=True)
    rng = np.random.default_rng(1)
    pictures = {}
    for name in ("b.png", "a.png", "sub/c.jpg"):
        pixels = rng.integers(0, 256, (10, 12, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / name)
        pictures[name] = pixels
    (folder / "broken.png").write_bytes(b"\x89PNG not really")
    model = batch_models.write(tmp_path / "m.onnx", batch_models.image_model(8))
    opts = {"mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]}
    summary = batch.predict(model, folder, image=opts, workers=1)
    assert summary.outputs is not None
    # sorted relative paths: a.png, b.png, broken.png, sub/c.jpg
    np.testing.assert_array_equal(summary.outputs["row_id"], [0, 1, 3])
    assert [e.row_id for e in summary.errors] == [2]
    assert "cannot decode image" in summary.errors[0].message
    resolved = image_options(opts, (-1, 3, 8, 8), "float32")
    expected = read_image(str(folder / "a.png"), resolved)
    assert expected.shape == (1, 3, 8, 8) and expected.dtype == np.float32
    np.testing.assert_allclose(summary.outputs["mean"][0], expected[0].mean(axis=(1, 2)),
                               rtol=1e-5)
    resized = np.asarray(Image.fromarray(pictures["a.png"]).resize((8, 8),
                                                                   Image.Resampling.BILINEAR))
    manual = ((resized / 255.0 - 0.5) / 0.25).transpose(2, 0, 1)
    np.testing.assert_allclose(expected[0], manual, rtol=1e-5, atol=1e-5)


def test_image_options_are_checked() -> None:
    with pytest.raises(ort.OptionError, match='unknown option "size"'):
        image_options({"size": 3}, (1, 3, 8, 8), "float32")
    with pytest.raises(ort.OptionError, match="'height' is needed"):
        image_options(None, (1, 3, -1, -1), "float32")
    with pytest.raises(ort.OptionError, match="resize_mode must be one of"):
        image_options({"resize_mode": "zoom"}, (1, 3, 8, 8), "float32")
    with pytest.raises(ort.OptionError, match="mean must be a number or 3 numbers"):
        image_options({"mean": [1, 2]}, (1, 3, 8, 8), "float32")
    hwc = image_options({"channel_order": "grey"}, (8, 8, 1), "uint8")
    assert (hwc["layout"], hwc["channel_order"], hwc["data_type"]) == ("hwc", "grey", "uint8")
    assert image_options(None, (1, 1, 8, 8), "float32")["channel_order"] == "gray"


def test_image_rows_are_what_the_tensor_module_makes(tmp_path: Path) -> None:
    from ortsession import ops

    folder = tmp_path / "images"
    folder.mkdir()
    pixels = np.random.default_rng(2).integers(0, 256, (30, 12, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(folder / "tall.png")
    opts = {"resize_mode": "letterbox", "pad_color": 0}
    row = read_image(str(folder / "tall.png"), image_options(opts, (-1, 3, 8, 8), "float32"))
    direct, info = ops.tensor_from_image(str(folder / "tall.png"), width=8, height=8, **opts)
    np.testing.assert_array_equal(row, direct)
    assert info.pad_left > 0 and not row[0, :, :, 0].any()  # letterbox padding, pad colour 0


# -- batching ------------------------------------------------------------------------------------
def test_fixed_batch_dimension_pads_the_last_batch(tmp_path: Path) -> None:
    model = batch_models.write(tmp_path / "m.onnx", batch_models.scale(3, batch=4))
    x = _x(10)
    summary = batch.predict(model, {"x": x}, workers=1)
    assert summary.batch_size == 4
    assert summary.outputs is not None
    np.testing.assert_array_equal(summary.outputs["y"], 2 * x)  # 10 rows, not 12
    with pytest.raises(ort.OptionError, match="fixes its batch dimension at 4"):
        batch.predict(model, {"x": x}, batch_size=8)


def test_model_without_batch_dimension_runs_row_by_row(tmp_path: Path) -> None:
    model = batch_models.write(tmp_path / "m.onnx", batch_models.vector())
    summary = batch.predict(model, {"x": _x(5)}, workers=1)
    assert summary.batch_size == 1
    assert summary.outputs is not None
    np.testing.assert_array_equal(summary.outputs["y"], _x(5) + 1)


def test_rows_of_the_wrong_shape_or_type_and_nan_are_bad_rows(scale_path: str) -> None:
    rows = [[1, 2, 3], [1, 2], [np.nan, 1, 2], None, [4, 5, 6], [[1, 2, 3]]]
    summary = batch.predict(scale_path, {"x": rows}, refuse_nan=True, workers=1)
    assert summary.outputs is not None
    np.testing.assert_array_equal(summary.outputs["row_id"], [0, 4, 5])
    messages = {e.row_id: e.message for e in summary.errors}
    assert "shape [3], got [2]" in messages[1]
    assert "NaN refused" in messages[2]
    assert "missing value" in messages[3]
    allowed = batch.predict(scale_path, {"x": [[np.nan, 1, 2]]}, workers=1)
    assert allowed.error_rows == 0
    dense = _x(4)
    dense[2, 0] = np.nan
    refused = batch.predict(scale_path, {"x": dense}, refuse_nan=["x"], workers=1)
    assert [e.row_id for e in refused.errors] == [2]
    wrong = batch.predict(scale_path, {"x": np.ones((3, 4), np.float32)}, workers=1)
    assert wrong.error_rows == 3
    assert "expected a row of shape [3], got [4]" in wrong.errors[0].message
    ints = batch.predict(scale_path, {"x": np.ones((2, 3), np.int64)}, workers=1)
    assert ints.error_rows == 0  # int64 → float32: numpy's same_kind casting
    floats = batch.predict(models.add((1, 2)), {"x": [[1.0, 2.0]], "bias": [[0, 0]]}, workers=1)
    assert floats.ok_rows == 1


def test_a_row_the_model_rejects_is_isolated_from_its_batch(tmp_path: Path) -> None:
    # Gather with an index from the data: an out-of-range index fails only that row's run.
    model = models.make(
        [models.helper.make_node("Gather", ["table", "i"], ["v"])],
        [models.helper.make_tensor_value_info("i", models.TP.INT64, ["N"])],
        [models.helper.make_tensor_value_info("v", models.TP.FLOAT, ["N"])],
        initializers=[models.helper.make_tensor("table", models.TP.FLOAT, [3], [1, 2, 3])])
    summary = batch.predict(model, {"i": np.array([0, 1, 7, 2])}, workers=1)
    assert summary.outputs is not None
    np.testing.assert_array_equal(summary.outputs["row_id"], [0, 1, 3])
    np.testing.assert_array_equal(summary.outputs["v"], [1, 2, 3])
    assert [e.row_id for e in summary.errors] == [2]


def test_a_failing_row_among_many_small_batches_is_isolated(tmp_path: Path) -> None:
    # Batches of 8 small rows run through buffers bound once (run_into): a failing batch there
    # falls back to the general path, which isolates the row.
    model = models.make(
        [models.helper.make_node("Gather", ["table", "i"], ["v"])],
        [models.helper.make_tensor_value_info("i", models.TP.INT64, ["N"])],
        [models.helper.make_tensor_value_info("v", models.TP.FLOAT, ["N"])],
        initializers=[models.helper.make_tensor("table", models.TP.FLOAT, [3], [1, 2, 3])])
    i = np.arange(200) % 3
    i[150] = 9
    summary = batch.predict(model, {"i": i}, workers=1, batch_size=8)
    assert summary.outputs is not None
    np.testing.assert_array_equal(summary.outputs["row_id"], np.delete(np.arange(200), 150))
    np.testing.assert_array_equal(summary.outputs["v"], np.delete(i, 150) + 1)
    assert [e.row_id for e in summary.errors] == [150]


# -- worker processes and threads ----------------------------------------------------------------
def _shared_blocks() -> set[str]:
    return {p.name for p in Path("/dev/shm").glob("psm_*")} if Path("/dev/shm").is_dir() else set()


@pytest.mark.parametrize("parallel", ["threads", "processes"])
def test_two_workers_give_the_same_rows_in_order(tmp_path: Path, parallel: str) -> None:
    model = batch_models.write(tmp_path / "mlp.onnx", batch_models.mlp(16, 2))
    x = np.random.default_rng(2).random((3000, 16), dtype=np.float32)
    x[1234, 3] = np.nan
    blocks = _shared_blocks()
    one = batch.predict(model, {"x": x}, batch_size=32, workers=1, refuse_nan=True,
                        commit_rows=256)
    two = batch.predict(model, {"x": x}, tmp_path / "out.npz", batch_size=32, workers=2,
                        refuse_nan=True, commit_rows=256, parallel=parallel)
    assert (two.workers, two.parallel, two.ok_rows) == (2, parallel, 2999)
    assert one.outputs is not None and one.parallel == "in process"
    with np.load(tmp_path / "out.npz") as out:
        np.testing.assert_array_equal(out["row_id"], one.outputs["row_id"])
        np.testing.assert_allclose(out["y"], one.outputs["y"], rtol=1e-6)
    with np.load(tmp_path / "out.errors.npz") as errors:
        assert errors["row_id"].tolist() == [1234]
    # in memory, many chunks (so outputs come back through shared memory once sized), and
    # the chunks of a Parquet file of variable-size lists (pickled, not shareable)
    every = batch.predict(model, x, batch_size=32, workers=1).outputs  # NaN row included
    memory = batch.predict(model, x[:2000], batch_size=32, workers=2, commit_rows=128,
                           parallel=parallel)
    assert memory.outputs is not None and every is not None
    np.testing.assert_allclose(memory.outputs["y"], every["y"][:2000], rtol=1e-6)
    column = pa.array([list(map(float, r)) for r in x[:600]], type=pa.list_(pa.float32()))
    pq.write_table(pa.table({"x": column}), tmp_path / "x.parquet", row_group_size=100)
    lists = batch.predict(model, tmp_path / "x.parquet", batch_size=32, workers=2,
                          commit_rows=100, parallel=parallel)
    assert lists.outputs is not None
    np.testing.assert_allclose(lists.outputs["y"], every["y"][:600], rtol=1e-6)
    assert _shared_blocks() == blocks  # every shared memory block unlinked


def test_auto_runs_a_short_job_in_process_and_parallel_is_checked(scale_path: str) -> None:
    summary = batch.predict(scale_path, {"x": _x(100)})
    assert (summary.workers, summary.parallel) == (1, "in process")
    given = batch.predict(scale_path, {"x": _x(100)}, workers=2)
    assert given.workers == 2 and given.parallel in ("threads", "processes")
    assert given.outputs is not None and summary.outputs is not None
    np.testing.assert_array_equal(given.outputs["y"], summary.outputs["y"])
    with pytest.raises(ort.OptionError, match="parallel: expected 'auto', 'threads' or"):
        batch.predict(scale_path, {"x": _x(3)}, parallel="fork")


# -- resume and the commit protocol --------------------------------------------------------------
def test_an_existing_output_needs_resume_or_overwrite(tmp_path: Path, scale_path: str) -> None:
    batch.predict(scale_path, {"x": _x(4)}, tmp_path / "out", workers=1)
    with pytest.raises(ort.StateError, match="already exists: rerun with resume=True"):
        batch.predict(scale_path, {"x": _x(4)}, tmp_path / "out", workers=1)
    again = batch.predict(scale_path, {"x": _x(4)}, tmp_path / "out", workers=1, resume=True)
    assert (again.rows, again.resumed_from, again.ok_rows) == (0, 4, 4)  # already complete
    with pytest.raises(ort.StateError, match="another job"):
        batch.predict(scale_path, {"x": _x(5)}, tmp_path / "out", workers=1, resume=True)
    fresh = batch.predict(scale_path, {"x": _x(5)}, tmp_path / "out", workers=1, overwrite=True)
    assert fresh.ok_rows == 5
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "file.txt").write_text("mine")
    with pytest.raises(ort.StateError, match="not a batch job's output"):
        batch.predict(scale_path, {"x": _x(4)}, tmp_path / "other", workers=1, resume=True)
    with pytest.raises(ort.OptionError, match="needs an output path"):
        batch.predict(scale_path, {"x": _x(4)}, resume=True)


def test_resume_discards_uncommitted_parts_and_redoes_only_the_rest(tmp_path: Path,
                                                                    scale_path: str) -> None:
    x = _x(40)
    out = tmp_path / "out"
    batch.predict(scale_path, {"x": x[:20]}, out, batch_size=5, commit_rows=10, workers=1)
    manifest = json.loads((out / "_manifest.json").read_text())
    assert manifest["next_part"] == 2
    # Rewind the commit record to after part 0, as if killed before part 1 was committed, and
    # leave a stray temporary file; then resume the same job over the full data.
    manifest.update(next_part=1, rows_done=10, ok_rows=10, complete=False)
    manifest["job"]["rows"] = 40
    (out / "_manifest.json").write_text(json.dumps(manifest))
    (out / ".part-000001.parquet.tmp").write_bytes(b"half")
    (out / "_errors.parquet").unlink()
    summary = batch.predict(scale_path, {"x": x}, out, batch_size=5, commit_rows=10, workers=1,
                            resume=True)
    assert (summary.resumed_from, summary.rows, summary.ok_rows) == (10, 30, 40)
    table = pq.read_table(out)
    ids = sorted(table["row_id"].to_pylist())
    assert ids == list(range(40))
    assert not list(out.glob("*.tmp"))


# -- options -------------------------------------------------------------------------------------
def test_session_options_pass_through_the_option_parser(scale_path: str) -> None:
    summary = batch.predict(scale_path, {"x": _x(3)}, None, {"graph_optimization_level": "all"},
                            workers=1, intra_op_num_threads=1)
    assert summary.ok_rows == 3
    with pytest.raises(ort.OptionError, match="did you mean 'intra_op_num_threads'"):
        batch.predict(scale_path, {"x": _x(3)}, intra_op_num_thread=1)
    with pytest.raises(ort.OptionError, match="given twice"):
        batch.predict(scale_path, {"x": _x(3)}, None, {"log_id": "a"}, log_id="b")
    with pytest.raises(ort.OptionError, match="engine: expected 'local' or 'ray'"):
        batch.predict(scale_path, {"x": _x(3)}, engine="spark")
    with pytest.raises(ort.OptionError, match="workers: expected a positive integer"):
        batch.predict(scale_path, {"x": _x(3)}, workers=0)
    with pytest.raises(ort.OptionError, match="batch_size: expected a positive integer"):
        batch.predict(scale_path, {"x": _x(3)}, batch_size=0)
    with pytest.raises(ort.OptionError, match="no output 'z'"):
        batch.predict(scale_path, {"x": _x(3)}, outputs=["z"])


def test_columns_map_to_inputs_by_name_or_by_input_map(tmp_path: Path) -> None:
    model = models.add((-1, 2))
    x, bias = np.ones((3, 2), np.float32), np.full((3, 2), 0.5, np.float32)
    by_case = batch.predict(model, {"X": x, "Bias": bias}, workers=1)
    assert by_case.outputs is not None
    np.testing.assert_array_equal(by_case.outputs["y"], x + bias)
    mapped = batch.predict(model, {"a": x, "b": bias}, input_map={"x": "a", "bias": "b"},
                           workers=1)
    assert mapped.ok_rows == 3
    with pytest.raises(batch.SourceError, match=r"no source column for model inputs 'x', 'bias'"):
        batch.predict(model, {"a": x, "b": bias}, workers=1)
    with pytest.raises(batch.SourceError, match="which the source does not have"):
        batch.predict(model, {"a": x, "b": bias}, input_map={"x": "c"})
    with pytest.raises(batch.SourceError, match="different lengths"):
        batch.predict(model, {"x": x, "bias": bias[:2]})
    with pytest.raises(batch.SourceError, match="does not exist"):
        batch.predict(model, tmp_path / "missing.parquet")
    (tmp_path / "data.csv").write_text("x\n1\n")
    with pytest.raises(batch.SourceError, match="unknown kind of file"):
        batch.predict(model, tmp_path / "data.csv")


def test_progress_bar_draws_rows_per_second_on_request(scale_path: str,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    batch.predict(scale_path, {"x": _x(2000)}, batch_size=4, workers=1, progress=True,
                  commit_rows=100)
    drawn = capsys.readouterr().err
    assert "rows" in drawn and "\x1b[" in drawn
    batch.predict(scale_path, {"x": _x(10)}, workers=1)  # default: stderr is not a terminal
    assert capsys.readouterr().err == ""
