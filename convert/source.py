"""What convert starts from: a frozen graph, its input and output, and their specification.

Any frozen `.pb` is taken: its image input and class-score output are the names given
(`--input`, `--output`), else edge-fer's own (`x`, `output`), else its only placeholder and its
only unconsumed node; its input dimensions are the placeholder's, completed by `--input-shape`
(a free batch becomes 1). Keras files (`.keras`, `.h5`) and SavedModel folders are frozen first
into `<out>/frozen/<stem>.pb` (with its manifest), which every target then converts: a model file
is data from someone else, so Keras files are loaded with `safe_mode=True` (a Lambda layer's
Python code or an unknown custom class is refused unless the user passes `--unsafe-keras`), and
nothing is ever unpickled. SavedModels hold graphs, not Python code; their graphs are checked
(edge_fer.artifacts.tfops) before TensorFlow loads the folder, and every traced graph before its
constants are folded. A frozen graph that holds ops
SNPE's converter does not take only because they are computed from constants (a Keras model frozen
elsewhere: NoOps, biases reshaped at run time) is folded into `frozen/<stem>.pb` the same way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

from edge_fer.artifacts.formats import KERAS_SUFFIXES
from edge_fer.artifacts.manifest import manifest_path
from edge_fer.atomic import atomic_write_text
from edge_fer.errors import EdgeFerError, UsageError
from edge_fer.limits import check_batch, check_side
from edge_fer.tensors.spec import InputSpec, OutputSpec

FROZEN_FOLDER = "frozen"
SAVED_MODEL_FILE = "saved_model.pb"
SIGNATURE = "serving_default"


@dataclass
class Source:
    """The frozen graph every target converts, with its resolved input, output and specs."""

    model: Path                      # the frozen .pb (for a Keras file: the one written/planned)
    graph_def: object
    input_name: str
    output_name: str
    input_dims: list[int]            # batch 1 unless fixed otherwise
    input_spec: InputSpec
    output_spec: OutputSpec
    original: Path | None = None     # the Keras file / SavedModel folder it was frozen from
    frozen_facts: dict | None = None  # how it was frozen (for the manifests)

    @property
    def frozen_here(self) -> bool:
        return self.original is not None


def kind_of(path: Path) -> str:
    """`keras`, `saved_model` or `graph` (any other file is taken as a frozen graph)."""
    if path.is_dir():
        if not (path / SAVED_MODEL_FILE).is_file():
            raise EdgeFerError(f"{path}: a folder, but not a SavedModel (no {SAVED_MODEL_FILE})")
        return "saved_model"
    if path.suffix.lower() in KERAS_SUFFIXES:
        return "keras"
    return "graph"


def parse_dims(text: str) -> list[int]:
    """`1,64,64,1` (or `1x64x64x1`) → [1, 64, 64, 1]."""
    parts = text.lower().replace("x", ",").replace(" ", "").split(",")
    try:
        dims = [int(p) for p in parts]
    except ValueError:
        raise UsageError(f"--input-shape {text!r}: expected comma-separated dimensions, "
                         f"e.g. 1,64,64,1") from None
    if len(dims) != 4 or min(dims) < 1:
        raise UsageError(f"--input-shape {text!r}: expected four positive dimensions "
                         f"[N,H,W,C] or [N,C,H,W]")
    check_batch(dims[0], f"--input-shape {text!r}: batch")
    check_side(max(dims[1:3]), max(dims[2:4]), f"--input-shape {text!r}")
    return dims


def resolve_dims(known: list[int | None] | None, given: list[int] | None, where: str,
                 name: str) -> list[int]:
    """The input's dimensions: the graph's, completed (never contradicted) by --input-shape; a
    free batch is 1."""
    if known is None or len(known) == 0:
        if given is None:
            raise EdgeFerError(f"{where}: input {name!r} has no static shape; give it with "
                               f"--input-shape N,H,W,C")
        return given
    if given is not None:
        if len(given) != len(known) or any(k is not None and k != g
                                           for k, g in zip(known, given)):
            shown = ",".join("?" if k is None else str(k) for k in known)
            raise EdgeFerError(f"{where}: --input-shape {','.join(map(str, given))} does not "
                               f"fit input {name!r} [{shown}]")
        return given
    if len(known) != 4:
        raise EdgeFerError(f"{where}: input {name!r} has shape {known}; edge-fer converts image "
                           f"inputs [N,H,W,C] or [N,C,H,W]")
    if any(d is None for d in known[1:]):
        shown = ",".join("?" if k is None else str(k) for k in known)
        raise EdgeFerError(f"{where}: input {name!r} is [{shown}]; give its size with "
                           f"--input-shape, e.g. 1,224,224,3")
    return [known[0] or 1, *known[1:]]


# --- freezing Keras files and SavedModels --------------------------------------------------

def _load_keras(path: Path, unsafe: bool):
    import keras

    try:
        return keras.models.load_model(str(path), compile=False, safe_mode=not unsafe)
    except Exception as exc:  # noqa: BLE001 - Keras raises ValueError, TypeError, OSError...
        text = " ".join(str(exc).split())
        if "Lambda" in text or "safe_mode" in text or "arbitrary code" in text:
            raise EdgeFerError(f"{path}: refused in safe mode (a Lambda layer runs Python code "
                               f"stored in the file); pass --unsafe-keras only if you trust "
                               f"whoever made it") from None
        if "Could not locate" in text or "Unknown layer" in text or "custom" in text.lower():
            raise EdgeFerError(f"{path}: uses a custom class Keras does not know "
                               f"({text[:160]}); edge-fer loads no code from model files") from None
        raise EdgeFerError(f"{path}: Keras cannot load it ({text[:200]})") from None


def _keras_function(path: Path, unsafe: bool):
    """(concrete function to freeze, input name, its known shape) of a Keras model file."""
    import tensorflow as tf

    model = _load_keras(path, unsafe)
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise EdgeFerError(f"{path}: {len(model.inputs)} inputs and {len(model.outputs)} "
                           f"outputs; edge-fer converts one image input and one score output")
    name = model.inputs[0].name.split(":")[0] or "input"
    shape = [None if d is None else int(d) for d in model.inputs[0].shape]
    return model, name, shape, lambda dims: tf.function(
        lambda x: model(x, training=False)).get_concrete_function(
        tf.TensorSpec(dims, tf.float32, name=name))


def _saved_model_function(path: Path):
    """(loaded object, kept alive while its signature is frozen; the signature; input name and
    known shape) of a SavedModel folder."""
    import tensorflow as tf

    from edge_fer.artifacts.tfops import check_saved_model

    check_saved_model(path, SAVED_MODEL_FILE)  # before TensorFlow loads (and runs) anything
    try:
        loaded = tf.saved_model.load(str(path))
    except Exception as exc:  # noqa: BLE001 - TF's own load errors of any kind
        raise EdgeFerError(f"{path}: TensorFlow cannot load the SavedModel "
                           f"({' '.join(str(exc).split())[:200]})") from None
    signature = loaded.signatures.get(SIGNATURE) if hasattr(loaded, "signatures") else None
    if signature is None:
        raise EdgeFerError(f"{path}: SavedModel has no {SIGNATURE!r} signature")
    args, specs = signature.structured_input_signature
    outputs = signature.structured_outputs
    if args or len(specs) != 1 or (isinstance(outputs, dict) and len(outputs) != 1):
        raise EdgeFerError(f"{path}: its {SIGNATURE} signature takes {len(args) + len(specs)} "
                           f"inputs and gives {len(outputs) if isinstance(outputs, dict) else 1} "
                           f"outputs; edge-fer converts one image input and one score output")
    key, spec = next(iter(specs.items()))
    shape = None if spec.shape.rank is None else \
        [None if d is None else int(d) for d in spec.shape.as_list()]
    return loaded, signature, key, shape


def fold_constants(graph_def, output_name: str):
    """The frozen function graph made plain: every node computed from constants only becomes a
    Const (Keras reshapes its biases at run time), NoOps and control edges go, and only what the
    output needs is kept. The ops left are the ones the model computes on its input."""
    import tensorflow as tf

    from edge_fer.tensors.graphio import import_graph

    nodes = {node.name: node for node in graph_def.node}
    constant: set[str] = {name for name, node in nodes.items() if node.op == "Const"}
    changed = True
    while changed:
        changed = False
        for node in graph_def.node:
            data = [i for i in node.input if not i.startswith("^")]
            if node.name not in constant and node.op not in ("Placeholder", "NoOp") and data \
                    and all(i.split(":")[0] in constant for i in data):
                constant.add(node.name)
                changed = True
    folded = [n for n in constant if nodes[n].op != "Const"]
    values = {}
    if folded:
        graph = import_graph(graph_def)
        with tf.compat.v1.Session(graph=graph) as session:
            values = dict(zip(folded, session.run([f"{n}:0" for n in folded])))
    out = tf.compat.v1.GraphDef()
    out.versions.CopyFrom(graph_def.versions)
    for node in graph_def.node:
        if node.op == "NoOp":
            continue
        if node.name in values:
            const = tf.compat.v1.NodeDef(name=node.name, op="Const")
            tensor = tf.make_tensor_proto(values[node.name])
            const.attr["value"].tensor.CopyFrom(tensor)
            const.attr["dtype"].type = tensor.dtype
            out.node.append(const)
            continue
        copy = out.node.add()
        copy.CopyFrom(node)
        del copy.input[:]
        copy.input.extend(i for i in node.input if not i.startswith("^"))
    return _needed_by(out, output_name)


def _needed_by(graph_def, output_name: str):
    """The nodes `output_name` is computed from, in their order."""
    import tensorflow as tf

    nodes = {node.name: node for node in graph_def.node}
    needed, todo = set(), [output_name]
    while todo:
        name = todo.pop()
        if name in needed or name not in nodes:
            continue
        needed.add(name)
        todo.extend(i.split(":")[0].lstrip("^") for i in nodes[name].input)
    out = tf.compat.v1.GraphDef()
    out.versions.CopyFrom(graph_def.versions)
    out.node.extend(node for node in graph_def.node if node.name in needed)
    return out


def freeze(path: Path, kind: str, dims_text: str | None, unsafe: bool) -> tuple:
    """(graph_def, input name, output name, dims, facts) of a Keras file or SavedModel."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    from edge_fer.artifacts.tfops import check_graph_ops

    if kind == "keras":
        _, name, shape, function = _keras_function(path, unsafe)
        how = {"loader": "keras.models.load_model(compile=False, safe_mode="
                         f"{not unsafe})", "keras_version": _version("keras")}
        dims = resolve_dims(shape, parse_dims(dims_text) if dims_text else None, str(path), name)
        traced = f"tf.function(model).get_concrete_function(TensorSpec({dims}, name={name!r}))"
    else:
        loaded, signature, name, shape = _saved_model_function(path)
        how = {"loader": f"tf.saved_model.load, signature {SIGNATURE!r}"}
        dims = resolve_dims(shape, parse_dims(dims_text) if dims_text else None, str(path), name)
        traced = f"loaded.signatures[{SIGNATURE!r}]"
    try:
        frozen = convert_variables_to_constants_v2(
            function(dims) if kind == "keras" else signature)
    except EdgeFerError:
        raise
    except Exception as exc:  # noqa: BLE001 - tracing errors of any kind
        raise EdgeFerError(f"{path}: cannot be traced with input [{','.join(map(str, dims))}] "
                           f"({' '.join(str(exc).split())[:200]})") from None
    if kind != "keras":
        del loaded  # kept alive until its variables were read
    input_name = frozen.inputs[0].name.split(":")[0]
    output_name = frozen.outputs[0].name.split(":")[0]
    traced_def = frozen.graph.as_graph_def()
    check_graph_ops(traced_def, path)  # folding constants runs the graph
    graph_def = fold_constants(traced_def, output_name)
    how.update({"api": f"{traced} → convert_variables_to_constants_v2 → constants folded, "
                       f"NoOps removed",
                "tensorflow": tf.__version__})
    return graph_def, input_name, output_name, dims, how


def _version(package: str) -> str:
    import importlib.metadata

    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return ""


def frozen_path(original: Path, out_dir: Path) -> Path:
    return out_dir / FROZEN_FOLDER / f"{original.stem if original.is_file() else original.name}.pb"


def write_frozen(source: Source, sha256: str) -> None:
    """`frozen/<stem>.pb` and its manifest `frozen/<stem>.json` (graph first, each atomic)."""
    from edge_fer.tensors.graphio import save_graph_def

    save_graph_def(source.graph_def, source.model)
    manifest = {"artifact": source.model.name, "target": "frozen",
                "source_model": {"path": str(source.original.resolve()), "sha256": sha256},
                "frozen_with": source.frozen_facts,
                "inputs": [{"name": source.input_name, "shape": source.input_dims,
                            "dtype": "float32"}],
                "outputs": [{"name": source.output_name}],
                "input_spec": source.input_spec.to_dict(),
                "output_spec": source.output_spec.to_dict()}
    atomic_write_text(manifest_path(source.model), json.dumps(manifest, indent=2) + "\n")


# --- one entry point --------------------------------------------------------------------

def load_source(path: Path, out_dir: Path, input_name: str | None = None,
                output_name: str | None = None, dims_text: str | None = None,
                unsafe_keras: bool = False, labels_file: str | Path | None = None,
                **spec_flags) -> Source:
    """The graph to convert, its input/output and their specs (file → manifest → flags)."""
    from edge_fer.artifacts.facts import facts_of
    from edge_fer.artifacts.pbfile import describe_graph_def
    from edge_fer.runners.model_io import spec_from_facts
    from edge_fer.tensors.graphio import graph_io_names, load_graph_def, node_shapes

    path = Path(path)
    if not path.exists():
        raise EdgeFerError(f"{path}: no such model file")
    kind = kind_of(path)
    original, facts_how = None, None
    if kind == "graph":
        if unsafe_keras:
            raise UsageError("--unsafe-keras applies to Keras files (.keras, .h5)")
        graph_def = load_graph_def(path, required=())
        input_name, output_name = graph_io_names(graph_def, path, input_name, output_name)
        model = path
        node = next(n for n in graph_def.node if n.name == input_name)
        if node.op not in ("Placeholder", "PlaceholderWithDefault"):
            raise EdgeFerError(f"{path}: --input {input_name!r} is a {node.op}, not a "
                               f"placeholder the model is fed through")
        sink = next(n for n in graph_def.node if n.name == output_name)
        if sink.op in ("Placeholder", "PlaceholderWithDefault", "Const"):
            raise EdgeFerError(f"{path}: --output {output_name!r} is a {sink.op}, not the "
                               f"class-score node")
        known = node_shapes(graph_def, input_name)[0]
        dims = resolve_dims(known, parse_dims(dims_text) if dims_text else None, str(path),
                            input_name)
        folded = _plain_graph(graph_def, output_name)
        if folded is not None:
            graph_def, original, model = folded, path, frozen_path(path, out_dir)
            facts_how = {"api": "constants folded, NoOps and control edges removed (the graph "
                                "held ops SNPE's TensorFlow converter does not take, computed "
                                "from constants only)"}
    else:
        if input_name or output_name:
            raise UsageError(f"--input/--output name tensors of a frozen graph; {path.name} is "
                             f"a {'Keras file' if kind == 'keras' else 'SavedModel'}, whose one "
                             f"input and output are taken")
        if kind == "saved_model" and unsafe_keras:
            raise UsageError("--unsafe-keras applies to Keras files (.keras, .h5)")
        graph_def, input_name, output_name, dims, facts_how = freeze(path, kind, dims_text,
                                                                     unsafe_keras)
        original, model = path, frozen_path(path, out_dir)
    # the graph in hand (checked, perhaps frozen or folded here) read like any .pb file
    description = describe_graph_def(graph_def, model, input_name, output_name)
    facts = replace(facts_of(description), input_shape=list(dims))
    input_spec, output_spec = spec_from_facts(original or path, facts, labels_file=labels_file,
                                              **spec_flags)
    if input_spec.image_shape != tuple(dims[1:]):
        raise UsageError(f"{path}: input {input_name!r} is [{','.join(map(str, dims))}] "
                         f"({input_spec.layout}); --color {input_spec.color} makes "
                         f"{input_spec.channels}-channel images for it")
    return Source(model, graph_def, input_name, output_name, list(dims), input_spec,
                  output_spec, original, facts_how)


def _plain_graph(graph_def, output_name: str):
    """None when the graph holds only ops SNPE's converter takes; else its folded form when that
    does (a Keras model frozen elsewhere: NoOps, biases reshaped at run time), else None (the
    dlc target names the op)."""
    from edge_fer.tensors.graphio import SNPE_OPS

    if all(node.op in SNPE_OPS for node in graph_def.node):
        return None
    folded = fold_constants(graph_def, output_name)
    return folded if all(node.op in SNPE_OPS for node in folded.node) else None
