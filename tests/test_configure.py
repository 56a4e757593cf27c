"""``ortsession.configure``: process-wide settings (``ortsession._config``).

ORT's environment and its global thread pools exist once per process, so every case that
configures successfully runs in a fresh interpreter. Each script ends by printing ``OK``; the
test also checks that nothing else reached stdout or stderr.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from ortsession import OptionError, _engine, configure

PRELUDE = textwrap.dedent(
    """
    import logging
    import onnx
    from onnx import TensorProto, helper
    import ortsession
    from ortsession import OptionError, StateError, _config
    from ortsession._builder import build_session
    from ortsession._options import parse_session_options

    def add_model():
        dims = ["N", 2]
        x = helper.make_tensor_value_info("x", TensorProto.FLOAT, dims)
        b = helper.make_tensor_value_info("bias", TensorProto.FLOAT, dims)
        y = helper.make_tensor_value_info("y", TensorProto.FLOAT, dims)
        graph = helper.make_graph([helper.make_node("Add", ["x", "bias"], ["y"])], "g", [x, b], [y])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)], ir_version=10)
        return model.SerializeToString()

    MODEL = add_model()

    def built(**fields):
        return build_session(MODEL, parse_session_options(None, fields))

    def raises(error, text, call, *args, **kwargs):
        try:
            call(*args, **kwargs)
        except error as exc:
            assert text in str(exc), str(exc)
            return str(exc)
        raise AssertionError(f"{call.__name__} did not raise {error.__name__}")
    """
)


def run_script(body: str) -> None:
    script = PRELUDE + textwrap.dedent(body) + "\nprint('OK')\n"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert (result.stdout, result.stderr) == ("OK\n", "")


def test_configure_repeatedly_before_any_session() -> None:
    run_script(
        """
        ortsession.configure({"log_severity_level": 3, "log_id": "first"})
        ortsession.configure(log_id="second", use_global_thread_pools=False)
        ortsession.configure()
        config = _config.current()
        assert (config.log_severity_level, config.log_id) == (3, "second"), config
        assert config.use_global_thread_pools is False
        with ortsession.session_from_bytes(MODEL) as s:
            assert s.run({"x": [[1.0, 2.0]], "bias": [[1.0, 1.0]]})["y"].tolist() == [[2.0, 3.0]]
        """
    )


def test_configure_while_a_session_is_alive_then_after_close() -> None:
    run_script(
        """
        s = ortsession.session_from_bytes(MODEL)
        t = ortsession.session_from_bytes(MODEL)
        message = raises(StateError, "before any session is created", ortsession.configure,
                         log_severity_level=3)
        assert "2 session(s) still open" in message, message
        s.close()
        raises(StateError, "1 session(s) still open", ortsession.configure, log_id="x")
        t.close()
        ortsession.configure(log_severity_level=3, log_id="later")
        assert _config.current().log_id == "later"
        # a session that is garbage collected no longer counts
        ortsession.session_from_bytes(MODEL)
        ortsession.configure(log_severity_level=2)
        """
    )


needs_global_pools = pytest.mark.skipif(
    not _engine.has("set_global_thread_pool_sizes"),
    reason="this onnxruntime has no global thread pools (1.23+): configure() refuses them")


@needs_global_pools
def test_global_thread_pools_are_used() -> None:
    run_script(
        """
        ortsession.configure(use_global_thread_pools=True, global_intra_op_num_threads=2,
                             global_inter_op_num_threads=1)
        assert not _config.global_thread_pools_enabled()  # created by the first session
        first = built()
        assert _config.global_thread_pools_enabled()
        assert first.ort.session_options.use_per_session_threads is False
        second = built(disable_per_session_threads=True)
        assert second.ort.session_options.use_per_session_threads is False
        (y,) = second.ort.run(["y"], {"x": [[1.0, 2.0]], "bias": [[0.5, -0.5]]}, None)
        assert y.tolist() == [[1.5, 1.5]]
        raises(OptionError, "'intra_op_num_threads'=2 cannot apply", built,
               intra_op_num_threads=2)
        raises(OptionError, "'inter_op_num_threads'=1 cannot apply", built,
               inter_op_num_threads=1)
        """
    )


@needs_global_pools
def test_pool_settings_cannot_change_once_the_pools_exist() -> None:
    run_script(
        """
        ortsession.configure(use_global_thread_pools=True, global_intra_op_num_threads=2)
        ortsession.session_from_bytes(MODEL).close()
        text = "ONNX Runtime cannot resize or remove them"
        raises(StateError, text, ortsession.configure, global_intra_op_num_threads=3)
        raises(StateError, text, ortsession.configure, global_inter_op_num_threads=1)
        raises(StateError, text, ortsession.configure, use_global_thread_pools=False)
        assert _config.current().global_intra_op_num_threads == 2  # nothing was changed
        # settings that do not change the pools are still accepted
        ortsession.configure(log_severity_level=3, use_global_thread_pools=True,
                             global_intra_op_num_threads=2, global_inter_op_num_threads=0)
        with ortsession.session_from_bytes(MODEL) as s:
            assert s.run([[[1.0, 2.0]], [[1.0, 1.0]]])[0].tolist() == [[2.0, 3.0]]
        """
    )


@needs_global_pools
def test_global_pools_enabled_after_earlier_per_session_sessions() -> None:
    run_script(
        """
        first = built()
        assert first.ort.session_options.use_per_session_threads is True
        ortsession.configure(use_global_thread_pools=True)
        later = built()
        assert later.ort.session_options.use_per_session_threads is False
        """
    )


def test_disable_per_session_threads_without_global_pools() -> None:
    run_script(
        """
        raises(OptionError, "needs the global thread pools", built,
               disable_per_session_threads=True)
        """
    )


def test_log_id_is_the_default_session_log_id() -> None:
    run_script(
        """
        ortsession.configure(log_id="my-runtime")
        assert built().ort.session_options.logid == "my-runtime"
        assert built(log_id="own").ort.session_options.logid == "own"
        """
    )


@pytest.mark.skipif(not _engine.LOG_FORWARDING, reason="this onnxruntime cannot route its log "
                    "to Python (set_default_logger_callback is 1.32+): its log is kept silent")
def test_log_severity_level_reaches_ort() -> None:
    run_script(
        """
        class Keep(logging.Handler):
            def __init__(self):
                super().__init__(logging.DEBUG)
                self.records = []
            def emit(self, record):
                self.records.append(record)

        keep = Keep()
        logger = logging.getLogger("ortsession.ort")
        logger.addHandler(keep)
        logger.setLevel(logging.DEBUG)
        logger.propagate = False

        ortsession.configure(log_severity_level=4)
        built()
        assert not keep.records, [r.getMessage() for r in keep.records]
        ortsession.configure(log_severity_level=1)
        built()
        assert any(r.levelno == logging.INFO for r in keep.records)
        assert all(r.levelno >= logging.INFO for r in keep.records)
        """
    )


@pytest.mark.parametrize(
    ("opts", "message"),
    [
        ({"log_severity_level": 5},
         "configure option 'log_severity_level': expected an integer from 0 to 4, got 5"),
        ({"log_severity_level": True}, "'log_severity_level': expected an integer from 0 to 4"),
        ({"log_severity_level": "2"}, "'log_severity_level': expected an integer"),
        ({"log_id": 3}, "configure option 'log_id': expected a string, got 3 (int)"),
        ({"log_id": "a\x00b"},
         "configure option 'log_id': expected a string without NUL characters, got 'a\\x00b' (str)"),
        ({"use_global_thread_pools": 1},
         "configure option 'use_global_thread_pools': expected a bool (True or False), got 1"),
        ({"global_intra_op_num_threads": -1},
         "configure option 'global_intra_op_num_threads': expected an integer from 0 to 1024, got -1"),
        ({"global_inter_op_num_threads": 1.5},
         "'global_inter_op_num_threads': expected an integer from 0 to 1024, got 1.5"),
        ({"global_inter_op_num_threads": False}, "'global_inter_op_num_threads': expected"),
        ({"log_severity": 2},
         "unknown configure option 'log_severity' (did you mean 'log_severity_level'?)"),
        ({"use_global_threadpools": True}, "(did you mean 'use_global_thread_pools'?)"),
    ],
)
def test_invalid_settings(opts: dict[str, object], message: str) -> None:
    # Validation happens before any state is touched, so this runs in the test process.
    with pytest.raises(OptionError) as info:
        configure(opts)
    assert message in str(info.value)


def test_same_setting_as_dict_and_keyword() -> None:
    with pytest.raises(OptionError, match="configure option 'log_id' is given twice"):
        configure({"log_id": "a"}, log_id="b")


def test_settings_must_be_a_dict() -> None:
    with pytest.raises(OptionError, match="configure options: expected a dict"):
        configure([("log_id", "a")])  # type: ignore[arg-type]
