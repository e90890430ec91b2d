"""What every conversion target shares: the job, its steps, and writing an artifact.

A target module only says which files it writes and how (`plan(job)` → `Step`s). `produce()` does
the rest once for all of them: timing, a staging folder renamed from when complete, the manifest
`<name>.json` (CONVENTIONS: Artifacts) and `labels.txt` beside the file. Each target writes into
its own folder `<out>/<target>/` (`ConvertJob.folder`), so `model.tflite` and `model.onnx` do not
both claim `model.json`.
"""

from __future__ import annotations

import contextlib
import datetime
import fnmatch
import json
import shlex
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from edge_fer import __version__, reporter
from edge_fer.artifacts.manifest import LABELS_NAME, manifest_path
from edge_fer.atomic import check_no_mount, link_or_copy, replaced_folder, staging_name
from edge_fer.errors import EdgeFerError
from edge_fer.files import sha256_file, sha256_path
from edge_fer.reporter import native_stdout_to_stderr
from edge_fer.tensors.graphio import INPUT_NAME, OUTPUT_NAME
from edge_fer.tensors.spec import InputSpec, OutputSpec


@dataclass
class ConvertJob:
    """One model to convert and the options that apply to it, resolved and validated."""

    model: Path                       # the frozen graph every target converts
    graph_def: object                 # tf.compat.v1.GraphDef, already checked by load_graph_def
    out_dir: Path
    precision: str
    calib: str | None = None          # --calib as given (input list or data-set spec)
    calib_count: int = 100
    verify_count: int = 200
    dynamic_batch: bool = False       # onnx, tflite
    htp_socs: str | None = None       # int8 for Qualcomm HTP (dlc, qnn)
    input_name: str = INPUT_NAME      # the graph's image placeholder
    output_name: str = OUTPUT_NAME    # its class-score node
    input_dims: list[int] | None = None   # None: read from the placeholder (edge-fer's own graph)
    input_spec: InputSpec = field(default_factory=InputSpec)
    output_spec: OutputSpec = field(default_factory=OutputSpec)
    original: Path | None = None      # a Keras file / SavedModel the graph was frozen from
    file_tags: tuple[str, ...] | None = None  # only these files of a target (ConvertRequest)
    _model_sha256: str | None = field(default=None, repr=False)
    _calibration: object = field(default=None, repr=False)
    _checks: object = field(default=None, repr=False)
    # what one target computes once for several of its files (tflite: the calibrated int8 model)
    shared: dict = field(default_factory=dict, repr=False)

    @property
    def stem(self) -> str:
        return self.model.stem

    def folder(self, target: str) -> Path:
        """`<out>/<target>/`: one folder per target, so every manifest name is unique."""
        return self.out_dir / target

    def output(self, target: str, suffix: str, tag: str = "") -> Path:
        """`<out>/<target>/<stem><tag><suffix>`, e.g. output('tflite', '.tflite', '_int8') →
        tflite/model_int8.tflite."""
        return self.folder(target) / f"{self.stem}{tag}{suffix}"

    @property
    def source(self) -> Path:
        """What the user converted: the graph, or the Keras file / SavedModel it came from."""
        return self.original or self.model

    @property
    def model_sha256(self) -> str:
        if self._model_sha256 is None:
            self._model_sha256 = sha256_path(self.source)
        return self._model_sha256

    def input_shape(self) -> list[int]:
        """The input's dimensions with an unknown batch taken as 1 (what converters need)."""
        if self.input_dims is not None:
            return list(self.input_dims)
        for node in self.graph_def.node:
            if node.name == self.input_name:
                dims = [d.size for d in node.attr["shape"].shape.dim]
                if len(dims) != 4:
                    raise EdgeFerError(f"{self.model}: input {self.input_name!r} has shape "
                                       f"{dims}, expected [N, H, W, C] or [N, C, H, W]")
                return [1 if dims[0] < 0 else dims[0], *dims[1:]]
        raise EdgeFerError(f"{self.model}: graph has no input {self.input_name!r}")

    @property
    def classes(self) -> int:
        return self.output_spec.classes

    def calibration(self):
        """The calibration samples (loaded once, on first use)."""
        from edge_fer.converters.calibration import load_calibration

        if self._calibration is None:
            self._calibration = load_calibration(self.calib, self.calib_count, self.input_spec)
        return self._calibration

    def checks(self):
        """The inputs and TF reference outputs every artifact is compared with (loaded once)."""
        from edge_fer.converters.verify import load_checks

        if self._checks is None:
            self._checks = load_checks(self)
        return self._checks


@dataclass
class Step:
    """One file a target writes: where, how (shown by --dry-run and kept in the manifest), and
    `run(staged_path)`, which writes it (same name, in a staging folder) and returns the facts
    for its manifest."""

    target: str
    precision: str
    output: Path
    commands: list[list[str] | str]    # argv lists for external tools, call strings for APIs
    run: Callable[[Path], dict]
    variant: str = ""                  # e.g. "int8 in/out", "float in/out"
    # Files in the final folder matching this glob are the artifact's companions (a QNN context
    # model's .bin): `run` names its new ones in facts["companions"] (left in the staging folder);
    # they are published with the artifact, and older ones deleted once it is in place.
    companion_glob: str = ""

    def shown_commands(self) -> list[str]:
        return [shlex.join(c) if isinstance(c, list) else c for c in self.commands]


@dataclass
class Artifact:
    target: str
    precision: str
    variant: str
    path: Path
    manifest: Path
    size: int                      # bytes on disk (a QNN context model: with its .bin)
    seconds: float
    commands: list[str]
    checks: dict | None


def artifact_input_spec(spec: InputSpec, facts: dict) -> InputSpec:
    """The source model's input spec with this file's own input type: an int8-in TFLite file
    takes int8 with its scale and zero point, not the source's float32."""
    inputs = facts.get("inputs") or []
    if not inputs or "dtype" not in inputs[0]:
        return spec
    quantization = inputs[0].get("quantization") or {}
    scale, zero_point = quantization.get("scale"), quantization.get("zero_point")
    if isinstance(scale, list):  # per-channel input quantisation: not one value to record
        scale = zero_point = None
    return replace(spec, dtype=inputs[0]["dtype"], scale=scale, zero_point=zero_point)


def tensor_facts(name: str, shape: list, dtype: str, quantization: dict | None = None) -> dict:
    facts = {"name": name, "shape": shape, "dtype": dtype}
    if quantization:
        facts["quantization"] = quantization
    return facts


def default_io(job: ConvertJob, suffix: str = "") -> dict:
    """The graph's own inputs/outputs (for formats we cannot read back here, e.g. DLC)."""
    shape = job.input_shape()
    return {"inputs": [tensor_facts(job.input_name + suffix, shape, "float32")],
            "outputs": [tensor_facts(job.output_name + suffix, [shape[0], job.classes],
                                     "float32")]}


def produce(job: ConvertJob, step: Step) -> Artifact:
    """Run one step: artifact, manifest and companions are written in a staging folder beside
    the target folder; when all are complete, the target folder is replaced as one unit by a
    copy (hard links) holding them, its other artifacts and labels.txt (atomic.replaced_folder),
    so no instant pairs one version's model with another's manifest or .bin."""
    final = step.output
    manifest_file = manifest_path(final)
    started = time.perf_counter()
    check_no_mount(final.parent)
    with staging_dir(final.parent.parent, final.parent.name) as stage:
        staged = stage / final.name
        with native_stdout_to_stderr():
            facts = step.run(staged)
        companions = facts.pop("companions", [])
        if not staged.is_file() or staged.stat().st_size == 0:
            raise EdgeFerError(f"{final}: {step.target} wrote no model")
        seconds = time.perf_counter() - started
        size = staged.stat().st_size
        manifest = {
            "artifact": final.name,
            "bytes": size,
            "sha256": sha256_file(staged),
            "target": step.target,
            "precision": step.precision,
            **({"variant": step.variant} if step.variant else {}),
            "source_model": {"path": str(job.source.resolve()), "sha256": job.model_sha256},
            **({"frozen_graph": str(job.model.resolve())} if job.original else {}),
            "commands": step.shown_commands(),
            "written_via": "a staging folder; the target folder replaced whole when complete",
            "layout": job.input_spec.layout.upper(),
            "labels": LABELS_NAME,
            # what run, raw-inputs and classify read for this file (runners/model_io.py)
            "input_spec": artifact_input_spec(job.input_spec, facts).to_dict(),
            "output_spec": job.output_spec.to_dict(),
            **facts,
            "seconds": round(seconds, 3),
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "edge_fer_version": __version__,
        }
        (stage / manifest_file.name).write_text(json.dumps(manifest, indent=2) + "\n",
                                                encoding="utf-8")
        (stage / LABELS_NAME).write_text("\n".join(job.output_spec.labels) + "\n",
                                         encoding="utf-8")
        ours = {final.name, manifest_file.name, LABELS_NAME, *companions}

        def keep(entry: Path) -> bool:
            # the replaced artifact's companions are no longer named by anything
            return entry.name not in ours and not (
                step.companion_glob and fnmatch.fnmatch(entry.name, step.companion_glob))

        with replaced_folder(final.parent, keep) as folder:
            for name in sorted(ours):
                link_or_copy(stage / name, folder / name)
    # a QNN context model is nothing without its .bin: its size is the pair's
    binary = (facts.get("context_binary") or {}).get("bytes", 0)
    size += binary
    reporter.info(f"{step.target} {step.precision}: wrote {final} ({size / 2**20:.2f} MiB"
                  f"{' with its .bin' if binary else ''}, {seconds:.1f} s)")
    return Artifact(step.target, step.precision, step.variant, final, manifest_file, size,
                    seconds, step.shown_commands(), facts.get("checks"))


@contextlib.contextmanager
def staging_dir(parent: Path, name: str) -> Iterator[Path]:
    """A hidden temporary folder in `parent` (same file system, so renames out of it are atomic);
    removed with whatever is left in it, success or not. On failure, the folders it had to
    create for `parent` go too when they are still empty (a failed target leaves nothing)."""
    created = [folder for folder in (parent, *parent.parents) if not folder.exists()]
    parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=staging_name(parent / name), suffix=".tmp", dir=parent))
    try:
        yield stage
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        for folder in created:  # deepest first
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    finally:
        shutil.rmtree(stage, ignore_errors=True)
