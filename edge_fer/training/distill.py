"""Knowledge distillation: the teacher's logits on the training faces, computed once and cached.

The teacher is a frozen graph with the `x` input and `logits` tensor of the models edge-fer
ships (for the shipped model, mirror averaging is inside the graph, so its logits for a face and
for its mirror image are the same). The student is trained on augmented faces; the soft target of
an augmented face is the teacher's on the clean face it came from — exact for the mirror image
(with a mirror-averaging teacher), an approximation for rotation, scale, shift, jitter and erasing.
Caching costs one teacher pass per training set instead of one per epoch.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from edge_fer import reporter
from edge_fer.atomic import atomic_write_bytes
from edge_fer.errors import EdgeFerError
from edge_fer.files import require_regular, sha256_file
from edge_fer.labels import NUM_CLASSES
from edge_fer.preprocess import to_model_input
from edge_fer.tensors.graphio import INPUT_NAME, LOGITS_NAME

CACHE_NAME = "teacher_logits.npz"
CHUNK = 2048  # faces between saves of a pass in progress


def images_fingerprint(images: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(images).tobytes()).hexdigest()


def _teacher_session(teacher: Path, session_config):
    import tensorflow as tf

    from edge_fer.tensors.graphio import dynamic_batch_graph, import_graph, load_graph_def

    graph_def = load_graph_def(teacher)
    names = {node.name for node in graph_def.node}
    if INPUT_NAME not in names or LOGITS_NAME not in names:
        raise EdgeFerError(f"{teacher}: a teacher needs the tensors {INPUT_NAME!r} and {LOGITS_NAME!r} "
                           f"(a graph frozen by edge-fer freeze)")
    fixed = int(next(n for n in graph_def.node if n.name == INPUT_NAME).attr["shape"].shape.dim[0].size)
    if fixed > 0:
        graph_def, _ = dynamic_batch_graph(graph_def, fixed)
    return tf.compat.v1.Session(graph=import_graph(graph_def), config=session_config)


def run_teacher(teacher: Path, images: np.ndarray, session_config=None, batch: int = 128,
                on_chunk=None, done: np.ndarray | None = None) -> np.ndarray:
    """The teacher's logits [N, 7] on uint8 faces [N, 48, 48] (session_config: the trainer's
    threads). `done`: logits of the first faces, computed before; `on_chunk(logits so far)` is
    called every CHUNK faces so a long pass can be saved and resumed."""
    logits = [done] if done is not None and len(done) else []
    start = len(done) if done is not None else 0
    with _teacher_session(teacher, session_config) as sess, reporter.make_progress() as bar:
        task = bar.add_task(f"teacher {teacher.name}", total=len(images), completed=start, status="")
        for first in range(start, len(images), batch):
            chunk = images[first:first + batch]
            logits.append(sess.run(f"{LOGITS_NAME}:0", {f"{INPUT_NAME}:0": to_model_input(chunk)}))
            bar.update(task, advance=len(chunk))
            if on_chunk is not None and (first + len(chunk)) % CHUNK < batch:
                on_chunk(np.concatenate(logits))
    out = np.concatenate(logits).astype(np.float32) if logits else np.zeros((0, NUM_CLASSES), np.float32)
    if out.shape != (len(images), NUM_CLASSES):
        raise EdgeFerError(f"{teacher}: logits have shape {out.shape}, expected ({len(images)}, {NUM_CLASSES})")
    return out


def _save(path: Path, logits: np.ndarray, record: dict) -> None:
    import io

    buffer = io.BytesIO()
    np.savez(buffer, logits=logits.astype(np.float32), teacher_sha256=record["teacher_sha256"],
             images_sha256=record["images_sha256"])
    atomic_write_bytes(path, buffer.getvalue())


def _load(path: Path, record: dict) -> np.ndarray | None:
    """The logits saved at `path` when they were made by the same teacher on the same faces."""
    if not path.is_file():
        return None
    with np.load(path) as saved:
        if str(saved["teacher_sha256"]) == record["teacher_sha256"] and \
                str(saved["images_sha256"]) == record["images_sha256"]:
            return saved["logits"]
    return None


def teacher_logits(teacher: str | Path, images: np.ndarray, cache: Path,
                   session_config=None) -> tuple[np.ndarray, dict]:
    """The teacher's logits on `images`, read from `cache` when it was made by the same teacher
    file on the same images, else computed and written there (saved every CHUNK faces beside it,
    so an interrupted pass resumes); and a record of the teacher."""
    teacher = Path(teacher)
    require_regular(teacher, "a teacher model")
    if not teacher.is_file():
        raise EdgeFerError(f"{teacher}: teacher model not found")
    record = {"teacher": str(teacher), "teacher_sha256": sha256_file(teacher),
              "images_sha256": images_fingerprint(images), "count": len(images)}
    cached = _load(cache, record)
    if cached is not None:
        reporter.info(f"teacher logits read from {cache}")
        return cached, record
    partial = cache.with_name(cache.stem + ".partial.npz")
    done = _load(partial, record)
    reporter.info(f"computing the teacher's logits on {len(images)} training faces "
                  f"({len(done) if done is not None else 0} done before; cached in {cache})")
    logits = run_teacher(teacher, images, session_config, done=done,
                         on_chunk=lambda so_far: _save(partial, so_far, record))
    _save(cache, logits, record)
    partial.unlink(missing_ok=True)
    return logits, record


def distillation_loss(student_logits, teacher_logits, temperature: float):
    """Hinton et al.'s soft-target term: T² · KL(softmax(teacher/T) ‖ softmax(student/T)), batch
    mean; the T² keeps its gradient scale independent of T."""
    import tensorflow as tf

    soft_teacher = tf.nn.softmax(teacher_logits / temperature)
    log_student = tf.nn.log_softmax(student_logits / temperature)
    log_teacher = tf.nn.log_softmax(teacher_logits / temperature)
    kl = tf.reduce_sum(soft_teacher * (log_teacher - log_student), axis=1)
    return temperature ** 2 * tf.reduce_mean(kl)
