"""What a bench run measures: every (model, runtime, batch, threads) the options name, checked
before anything is timed (an unknown runtime, a refused file or no case at all stops the run)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edge_fer import reporter
from edge_fer.errors import EdgeFerError, UsageError
from edge_fer.files import require_regular
from edge_fer.limits import MAX_BATCH


@dataclass(frozen=True)
class BenchCase:
    model: Path
    runtime: str
    batch: int
    threads: int | None  # None: every core (runners.base.available_cores)


def parse_int_list(text: str, flag: str, allow_auto: bool = False) -> list[int | None]:
    """'1,32' → [1, 32]; 'auto' (threads) → [None]: every core this process may use."""
    values: list[int | None] = []
    for part in (text or "").replace(" ", "").split(","):
        if not part:
            continue
        if allow_auto and part.lower() == "auto":
            values.append(None)
            continue
        try:
            value = int(part)
        except ValueError:
            raise UsageError(f"{flag} takes comma-separated whole numbers"
                             f"{' or auto' if allow_auto else ''}, not {part!r}") from None
        if value < 1 or value > MAX_BATCH:
            raise UsageError(f"{flag} values must be 1 to {MAX_BATCH:,}, not {value}")
        values.append(value)
    if not values:
        raise UsageError(f"{flag} names no value")
    return list(dict.fromkeys(values))


def _onnx_facts(model: Path) -> tuple[set[str], bool]:
    """The op types of an .onnx (without their domain), and whether its inputs all have a fixed
    batch."""
    from edge_fer.artifacts.formats import describe

    try:
        described = describe(model, full=False)  # ops and inputs: no checker or FLOPs
    except (EdgeFerError, ImportError):  # unreadable: the runner reports it when the case runs
        return set(), True
    fixed = all(tensor.dims() and tensor.dims()[0] for tensor in described.inputs)
    return {op.rsplit(".", 1)[-1] for op in described.ops}, fixed


def default_runtimes(model: Path) -> list[str]:
    """The file's default runner; a QDQ `.onnx` with a fixed batch also on qnn (HTP takes static
    shapes only), a compiled `_ctx.onnx` on qnn only."""
    from edge_fer.runners import REGISTRY, runner_for

    runtimes = [runner_for(model).name]
    if model.suffix.lower() == ".onnx" and "qnn" in REGISTRY:
        ops, fixed_batch = _onnx_facts(model)
        if "EPContext" in ops:
            return ["qnn"]
        if {"QuantizeLinear", "DequantizeLinear"} & ops and fixed_batch:
            runtimes.append("qnn")
    return runtimes


def plan_cases(models: list[Path], runtimes: list[str] | None, batches: list[int],
               threads: list[int | None]) -> list[BenchCase]:
    """Every (model, runtime, batch, threads); `runtimes` restricts or chooses the runners (a
    runtime that does not take a model's suffix is left out for that model)."""
    from edge_fer.artifacts.check import check_model_data
    from edge_fer.runners import REGISTRY

    if not models:
        raise UsageError("bench needs at least one model file")
    for runtime in runtimes or ():
        if runtime not in REGISTRY:
            raise UsageError(f"unknown runtime {runtime!r}; known: {', '.join(REGISTRY)}")
    cases = []
    for model in models:
        model = Path(model)
        require_regular(model, "a model file")
        if not model.is_file():
            raise EdgeFerError(f"{model}: no such model file")
        check_model_data(model)  # a refused graph or external data stops here, not per case
        if runtimes:
            chosen = [r for r in runtimes if model.suffix.lower() in REGISTRY[r].suffixes]
            if not chosen:
                reporter.warn(f"{model}: none of --runtime {','.join(runtimes)} takes "
                              f"{model.suffix} files; left out")
        else:
            chosen = default_runtimes(model)
        cases += [BenchCase(model, runtime, batch, thread)
                  for runtime in chosen for batch in batches for thread in threads]
    if not cases:
        raise UsageError("nothing to benchmark: no model matches --runtime")
    return cases
