"""`inspect`'s report: a model file's description (edge_fer/artifacts/formats.py, one reader per
format) plus the input and output specification edge-fer resolves for it (runners/model_io.py) —
both from the same single read of the file."""

from __future__ import annotations

from pathlib import Path

from edge_fer.artifacts.description import Description
from edge_fer.errors import EdgeFerError, UsageError


def inspect_model(path: str | Path) -> dict:
    from edge_fer.artifacts.formats import READERS, describe

    path = Path(path)
    if path.suffix.lower() not in READERS:
        hint = ("; a SavedModel: `edge-fer convert` it (it writes the frozen graph "
                "frozen/<name>.pb), then inspect that" if path.is_dir() else "")
        raise UsageError(f"{path}: cannot inspect {path.suffix or 'files without a suffix'}; "
                         f"known: {', '.join(READERS)}{hint}")
    description = describe(path)
    report = description.report()
    report["spec"] = model_specs(description)
    return report


def model_specs(description: Description) -> dict:
    """The input and output specification edge-fer reads for this model, or why it cannot tell."""
    from edge_fer.artifacts.facts import facts_of
    from edge_fer.runners.model_io import read_manifest, spec_from_facts
    from edge_fer.tensors.spec import InputSpec

    path = description.path
    try:
        input_spec, output_spec = spec_from_facts(path, facts_of(description))
    except EdgeFerError as exc:
        return {"problem": str(exc)}
    own = InputSpec()
    if "input_spec" in read_manifest(path):
        source = f"from its manifest {path.with_suffix('.json').name}"
    elif not description.tensors_from_file:
        source = ("no manifest beside it and nothing readable in the file: edge-fer's convention "
                  "assumed (its tensor names and shape)")
    elif (input_spec.name, input_spec.height, input_spec.width, input_spec.channels) == \
            (own.name, own.height, own.width, own.channels) and output_spec.name == "output":
        source = "edge-fer's convention (its tensor names and shape)"
    else:  # a file says its tensors' shapes, never its colour order or normalisation
        source = ("not in the file: assumed; give --color/--mean/--std to raw-inputs, run, "
                  "evaluate and predict if the model expects otherwise")
    return {"input": input_spec.describe(), "input_spec": input_spec.to_dict(),
            "output_spec": output_spec.to_dict(), "normalisation": source}
