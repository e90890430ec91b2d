"""The one checked ONNX reader (edge_fer.artifacts.onnxfile): what a model file may point at."""

from __future__ import annotations

import pytest

from edge_fer.artifacts.onnxfile import read_onnx
from edge_fer.errors import EdgeFerError


def _context_model(path, location: str, embed_mode: int = 0):
    """A `_ctx.onnx`-shaped file: one EPContext node naming its compiled graph's file."""
    from onnx import TensorProto, helper

    node = helper.make_node("EPContext", ["x"], ["output"], domain="com.microsoft",
                            embed_mode=embed_mode, ep_cache_context=location)
    graph = helper.make_graph([node], "ctx",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 2])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13),
                                                    helper.make_opsetid("com.microsoft", 1)])
    path.write_bytes(model.SerializeToString())
    return path


def test_a_context_binary_beside_the_model_is_taken(tmp_path):
    (tmp_path / "m_qnn.bin").write_bytes(b"\0" * 16)
    assert read_onnx(_context_model(tmp_path / "m_ctx.onnx", "m_qnn.bin")).graph.node


@pytest.mark.parametrize(("location", "problem"), [
    ("../m_qnn.bin", "climbs out"), ("/etc/hostname", "absolute path"),
    ("C:\\\\secret.bin", "absolute path"), ("gone.bin", "missing"), ("", "names none"),
])
def test_a_context_binary_outside_the_folder_or_missing_is_refused(tmp_path, location, problem):
    folder = tmp_path / "model"
    folder.mkdir()
    (tmp_path / "m_qnn.bin").write_bytes(b"\0" * 16)
    with pytest.raises(EdgeFerError, match=problem):
        read_onnx(_context_model(folder / "m_ctx.onnx", location))


def test_an_embedded_context_names_no_file(tmp_path):
    read_onnx(_context_model(tmp_path / "m_ctx.onnx", "binary bytes", embed_mode=1))


def test_a_folder_or_fifo_named_onnx_is_refused_before_reading(tmp_path):
    import os

    os.mkfifo(tmp_path / "pipe.onnx")
    with pytest.raises(EdgeFerError, match="FIFO"):
        read_onnx(tmp_path / "pipe.onnx")


def test_a_runner_reads_an_onnx_model_without_the_onnx_package_and_it_still_loads_after(tmp_path):
    """`import onnx` costs more than a small model's whole run: a runner's read of the file
    (file_facts) parses it with ONNX's generated protobuf module alone, and the onnx package
    imported afterwards shares that module (one ModelProto, no second registration)."""
    import subprocess
    import sys

    from tests.hostile.conftest import write_tiny_onnx

    model = write_tiny_onnx(tmp_path / "m.onnx")
    code = ("import sys; from edge_fer.artifacts.facts import file_facts; "
            f"facts = file_facts({str(model)!r}); print(facts.input_name, facts.classes, 'onnx' in sys.modules); "
            "import onnx; from edge_fer.artifacts.onnxfile import read_onnx; "
            f"print(type(read_onnx({str(model)!r})) is onnx.ModelProto)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["x", "7", "False", "True"]
