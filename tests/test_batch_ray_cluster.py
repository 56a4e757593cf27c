"""The ``ray`` engine on a two-node Ray cluster started on this machine
(``ray.cluster_utils.Cluster``, one CPU per node): the work really spreads over both nodes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import batch_models
from ortsession import batch

ray = pytest.importorskip("ray")
cluster_utils = pytest.importorskip("ray.cluster_utils")


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.data.context")
def test_two_nodes_share_the_work(tmp_path: Path) -> None:
    model = tmp_path / "mlp.onnx"
    model.write_bytes(batch_models.mlp(256, 8))
    x = np.random.default_rng(7).random((4000, 256), dtype=np.float32)
    cluster = cluster_utils.Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    try:
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        summary = batch.predict(str(model), {"x": x}, tmp_path / "out", engine="ray",
                                ray_address=cluster.address, workers=2, batch_size=32)
    finally:
        ray.shutdown()
        cluster.shutdown()
    assert summary.ok_rows == 4000
    assert len(summary.nodes) == 2, summary.nodes  # rows computed on each node
    assert all(rows > 0 for rows in summary.nodes.values())
    local = batch.predict(str(model), {"x": x}, workers=1, batch_size=32)
    import pyarrow.parquet as pq

    table = pq.read_table(tmp_path / "out").sort_by("row_id")
    assert local.outputs is not None
    np.testing.assert_array_equal(table["y"].combine_chunks().to_numpy_ndarray(),
                                  local.outputs["y"])
