"""Family: a foreign TensorFlow graph with side-effect ops (docs/trust.md).

A frozen `.pb` whose output depends on a `WriteFile` op (through a control edge, or inside a
function of its library) is refused by every command that runs a TensorFlow graph — one error
line naming the node and the op, exit 1 — and the file it would write never appears. A SavedModel
whose serving function writes a file is refused by convert before TensorFlow loads the folder.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.hostile.conftest import assert_error, invoke_cli, write_face_pngs


def _write_op_graph(path: Path, target: Path, in_function: bool = False) -> Path:
    """x [1,48,48,1] → dense softmax `output` (with `logits`), where the flatten waits for a
    WriteFile of `target` (in the graph, or in a tf.function of its library)."""
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [1, 48, 48, 1], name="x")
        if in_function:
            @tf.function
            def touch(t):
                tf.io.write_file(str(target), "owned")
                return t

            flat = tf.reshape(touch(x), [1, 48 * 48])
        else:
            write = tf.io.write_file(str(target), "owned", name="write")
            with tf.control_dependencies([write]):
                flat = tf.reshape(x, [1, 48 * 48])
        weights = tf.constant(np.full((48 * 48, 7), 0.01, np.float32))
        logits = tf.matmul(flat, weights, name="logits")
        tf.nn.softmax(logits, name="output")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(graph.as_graph_def().SerializeToString())
    return path


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("hostile_graph")
    target = root / "written_by_the_model.txt"
    return {"root": root, "target": target,
            "pb": _write_op_graph(root / "evil.pb", target),
            "fn_pb": _write_op_graph(root / "evil_fn.pb", target, in_function=True)}


COMMANDS = {
    "run": ("run", "{pb}", "-i", "{list}", "-o", "{out}"),
    "evaluate": ("evaluate", "{pb}", "--data", "synthetic", "--limit", "20"),
    "predict": ("predict", "{image}", "{pb}", "-o", "{out}"),
    "bench": ("bench", "{pb}", "-n", "2", "--warmup", "0"),
    "compare": ("compare", "{pb}", "{pb}", "-i", "{list}"),
    "teacher": ("train", "--teacher", "{pb}", "--epochs", "1", "--synthetic-train", "70",
                "--synthetic-val", "14", "--out", "{out}"),
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_graph_that_writes_a_file_is_refused_by_every_command(command, hostile, raws_dir,
                                                                 tmp_path):
    image = write_face_pngs(tmp_path / "faces", 1)[0]
    values = {"pb": hostile["pb"], "list": raws_dir / "input_list.txt", "out": tmp_path / "out",
              "image": image}
    args = [arg.format(**values) for arg in COMMANDS[command]]
    result = invoke_cli(*args)
    assert_error(result, 1, hostile["pb"], "'write'", "WriteFile")
    assert not hostile["target"].exists()


def test_a_write_inside_a_library_function_is_refused_naming_the_function(hostile, raws_dir,
                                                                          tmp_path):
    result = invoke_cli("run", hostile["fn_pb"], "-i", raws_dir / "input_list.txt", "-o",
                     tmp_path / "out")
    line = assert_error(result, 1, hostile["fn_pb"], "WriteFile", "in function")
    assert "touch" in line
    assert not hostile["target"].exists() and not (tmp_path / "out").exists()


def test_a_call_of_an_op_by_name_is_refused(hostile, raws_dir, tmp_path):
    """PartitionedCall with f=WriteFile: TensorFlow would run the op of that name."""
    import tensorflow as tf

    graph_def = tf.compat.v1.GraphDef()
    graph_def.ParseFromString(Path(hostile["pb"]).read_bytes())
    write = next(node for node in graph_def.node if node.op == "WriteFile")
    write.op = "PartitionedCall"
    write.attr["f"].func.name = "WriteFile"
    model = tmp_path / "call.pb"
    model.write_bytes(graph_def.SerializeToString())
    result = invoke_cli("run", model, "-i", raws_dir / "input_list.txt", "-o", tmp_path / "out")
    assert_error(result, 1, model, "'write'", "'WriteFile'", "no function of the graph")
    assert not hostile["target"].exists()


def test_a_saved_model_whose_serving_function_writes_a_file_is_refused_by_convert(tmp_path):
    import tensorflow as tf

    target = tmp_path / "written_by_the_model.txt"

    class Module(tf.Module):
        def __init__(self):
            super().__init__()
            self.w = tf.Variable(np.full((48 * 48, 7), 0.01, np.float32))

        @tf.function(input_signature=[tf.TensorSpec([1, 48, 48, 1], tf.float32, name="x")])
        def serve(self, x):
            tf.io.write_file(str(target), "owned")
            return tf.nn.softmax(tf.matmul(tf.reshape(x, [1, -1]), self.w))

    module = Module()
    folder = tmp_path / "evil_saved_model"
    tf.saved_model.save(module, str(folder), signatures={"serving_default": module.serve})
    assert not target.exists()
    result = invoke_cli("convert", folder, "--target", "onnx", "--out", tmp_path / "out")
    assert_error(result, 1, folder, "WriteFile")
    assert not target.exists() and not (tmp_path / "out" / "onnx").exists()


def test_a_tflite_file_carrying_a_tensorflow_write_op_does_not_run_it(tmp_path, raws_dir):
    """A `.tflite` converted with SELECT_TF_OPS holds TensorFlow's WriteFile as a Flex op: LiteRT
    links no Flex delegate, so loading it fails and nothing is written."""
    import tensorflow as tf

    target = tmp_path / "written_by_the_model.txt"

    class Module(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([1, 48, 48, 1], tf.float32)])
        def serve(self, x):
            tf.io.write_file(str(target), "owned")
            return tf.nn.softmax(tf.reshape(x, [1, -1])[:, :7])

    module = Module()
    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [module.serve.get_concrete_function()], module)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS,
                                           tf.lite.OpsSet.SELECT_TF_OPS]
    model = tmp_path / "flex.tflite"
    model.write_bytes(converter.convert())
    result = invoke_cli("run", model, "-i", raws_dir / "input_list.txt", "-o", tmp_path / "out")
    assert_error(result, 1, model, "FlexWriteFile", "refused")
    assert not target.exists() and not (tmp_path / "out").exists()
