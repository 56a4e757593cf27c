"""The ``ray`` engine on a real local Ray (one Ray session shared by the module): the same outputs
as the ``local`` engine row for row, the model by bytes or by path, bad rows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import batch_models
from ortsession import batch

ray = pytest.importorskip("ray")

# Ray Data's DataContext warns about its own deprecated fields when it is first created.
pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.data.context"),
]


@pytest.fixture(scope="module")
def local_ray() -> Iterator[Any]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ray")
    (root / "mlp.onnx").write_bytes(batch_models.mlp(8, 2))
    rng = np.random.default_rng(5)
    folder = root / "in"
    folder.mkdir()
    for name, rows in (("a", 150), ("b", 90)):
        x = rng.random((rows, 8), dtype=np.float32)
        column = pa.array([list(map(float, r)) for r in x], type=pa.list_(pa.float32()))
        if name == "b":  # one row of the wrong length: a bad row, row id 150 + 7
            values = column.to_pylist()
            values[7] = [1.0, 2.0]
            column = pa.array(values, type=pa.list_(pa.float32()))
        pq.write_table(pa.table({"x": column}), folder / f"{name}.parquet", row_group_size=64)
    return root


def test_ray_gives_the_local_outputs_row_for_row(local_ray: Any, dataset: Path) -> None:
    model = str(dataset / "mlp.onnx")
    local = batch.predict(model, dataset / "in", batch_size=16, workers=1)
    remote = batch.predict(model, dataset / "in", dataset / "ray.npz", engine="ray",
                           batch_size=16, workers=2)
    assert remote.engine == "ray" and remote.workers == 2
    assert (remote.rows, remote.ok_rows, remote.error_rows) == (240, 239, 1)
    assert sum(remote.nodes.values()) == 240
    assert local.outputs is not None
    with np.load(dataset / "ray.npz") as out:
        np.testing.assert_array_equal(out["row_id"], local.outputs["row_id"])
        np.testing.assert_array_equal(out["y"], local.outputs["y"])
    with np.load(dataset / "ray.errors.npz") as errors:
        assert errors["row_id"].tolist() == [157]
    assert [e.row_id for e in local.errors] == [157]


@pytest.mark.slow
def test_ray_reads_the_model_by_path(local_ray: Any, dataset: Path, tmp_path: Path) -> None:
    model = str(dataset / "mlp.onnx")
    x = np.random.default_rng(6).random((100, 8), dtype=np.float32)
    first = batch.predict(model, {"x": x[:40]}, tmp_path / "out", engine="ray", workers=1,
                          ship_model=False, batch_size=8)
    assert first.ok_rows == 40
    assert sorted(pq.read_table(tmp_path / "out")["row_id"].to_pylist()) == list(range(40))
    memory = batch.predict(model, {"x": x}, engine="ray", ship_model=False, batch_size=8)
    local = batch.predict(model, {"x": x}, workers=1, batch_size=8)
    assert memory.outputs is not None and local.outputs is not None
    np.testing.assert_array_equal(memory.outputs["y"], local.outputs["y"])
    assert memory.workers == 2  # the cluster's CPUs / 1 CPU per actor
