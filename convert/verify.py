"""Compare a fresh artifact with the TF graph it came from, before it is written.

Each artifact is run with its own runtime (edge_fer.runners) on the same check inputs as the
frozen graph; the figures go into its manifest. A float artifact that disagrees with the graph
beyond rounding is a conversion error and is not written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge_fer import reporter
from edge_fer.errors import EdgeFerError
from edge_fer.finite import require_finite

# Largest max |Δp| (softmax probabilities) accepted from a float artifact.
TOLERANCES = {"fp32": 1e-4, "fp16": 1e-2}
CALIB_ADVICE = "try more or more representative --calib data"
INT8_WARN_AGREEMENT = 0.98
# An int8 softmax output moves in steps of 1/256: where the graph's top two classes are closer
# than that, the int8 model cannot tell them apart, so agreement is also given without those.
INT8_STEP = 1.0 / 256


@dataclass
class Checks:
    samples: object           # calibration.SampleSet
    reference: np.ndarray     # the TF graph's probabilities [N, C] (softmax of logits)


def load_checks(job) -> Checks | None:
    """The check inputs (made by the model's input spec) and the frozen graph's probabilities on
    them; None when checks are off. A logits output whose kind was left to the values (`auto`)
    is decided here, once, from the graph's own outputs."""
    import dataclasses

    from edge_fer.converters.calibration import load_check_samples
    from edge_fer.tensors.spec import looks_like_probabilities
    from edge_fer.training.freeze import frozen_outputs

    if job.verify_count <= 0:
        return None
    samples = load_check_samples(job.calib, job.verify_count, job.calib_count, job.input_spec)
    scores = frozen_outputs(job.graph_def, samples.images, job.input_name, job.output_name)
    require_finite(scores, str(job.model), "graph output on the check inputs (nothing converted)")
    scores = np.asarray(scores, np.float32).reshape(len(scores), -1)
    if job.output_spec.activation == "auto":
        job.output_spec = dataclasses.replace(job.output_spec, activation="probabilities"
                                              if looks_like_probabilities(scores) else "logits")
    return Checks(samples, job.output_spec.probabilities(scores))


def compare(job, artifact: Path, runtime: str, precision: str, label: str) -> dict | None:
    """Run `artifact` on the check inputs; return the manifest's `checks` entry."""
    from edge_fer.runners import load_runner

    checks = job.checks()
    if checks is None:
        return None
    runner = load_runner(artifact, runtime)
    try:
        probs = job.output_spec.probabilities(runner.infer(checks.samples.images))
    finally:
        runner.close()
    return compare_outputs(checks, probs, runtime, precision, label, job.output_spec.activation)


def compare_outputs(checks: Checks, probs: np.ndarray, runtime: str, precision: str,
                    label: str, activation: str = "probabilities") -> dict:
    """The `checks` entry for outputs `probs` an artifact gave on the check inputs (for a
    runtime that needs options a plain runner does not set, e.g. QNN's fp16 mode)."""
    require_finite(probs, label, f"{runtime} output on the check inputs; not written")
    delta = float(np.abs(probs - checks.reference).max())
    agrees = probs.argmax(1) == checks.reference.argmax(1)
    agreement = float(np.mean(agrees))
    ordered = np.sort(checks.reference, axis=1)
    decisive = (ordered[:, -1] - ordered[:, -2]) >= INT8_STEP
    facts = {"runtime": runtime, "inputs": len(probs), "max_abs_dp": delta,
             "top1_agreement": agreement,
             "decisive_inputs": int(decisive.sum()),
             "top1_agreement_decisive": float(np.mean(agrees[decisive])) if decisive.any() else None,
             "decisive_means": "the graph's top-1 leads its top-2 by at least 1/256",
             "reference": "frozen TF graph (tf.compat.v1.Session)",
             "compared": "probabilities" if activation == "probabilities"
             else "softmax of the logits",
             "samples": checks.samples.describe()}
    tolerance = TOLERANCES.get(precision)
    if tolerance is not None and not delta <= tolerance:
        raise EdgeFerError(f"{label}: differs from the TF graph by max |Δp| {delta:.2e} on "
                           f"{len(probs)} inputs (> {tolerance:g}); not written")
    decisive_agreement = facts["top1_agreement_decisive"]
    if precision == "int8" and decisive_agreement is not None and \
            decisive_agreement < INT8_WARN_AGREEMENT:
        reporter.warn(f"{label}: top-1 agrees with the TF graph on only {decisive_agreement:.1%} "
                      f"of {int(decisive.sum())} inputs it decides by at least 1/256; "
                      f"{CALIB_ADVICE}")
    return facts
