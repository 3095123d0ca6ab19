"""Run folders: where a command writes its results, and the record of how they were made.

One mechanism for every command that writes a run (``sdae train``, ``sdae denoise train``,
every ``sdae experiment`` and ``sdae demo``):

- :func:`prepare_folder` creates the folder before any training, checks that it can be
  written, and remembers the folders it made so that a command that fails leaves none
  of them behind empty (:func:`remove_empty_made_folders`);
- :func:`start_run` applies the resume rule. A folder whose ``checkpoints/command.json``
  records an unfinished run is continued by the same command (same options, same
  resolved data), refused to any other unless it says ``--resume`` (continue with the
  run's own options) or ``--overwrite`` (delete its checkpoints and start afresh):
  nothing is deleted without being asked. A finished run's folder may be run again;
- :meth:`Run.guard` turns a failure of a fresh run into the removal of its checkpoints
  (continuing would fail again) and an interruption into the hint how to continue;
- :meth:`Run.finish` writes the record beside the results and marks the run finished.

Only the process that writes (rank 0 under torchrun) touches the files.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shlex
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError, SdaeError
from .atomic import write_json

RECORD = "command.json"

_made_folders: list[Path] = []  # by prepare_folder in this command, the deepest first


def machine_description(device: str = "cpu") -> dict:
    """Where a result was measured, for the results files."""
    import torch

    info = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "device": device,
    }
    if device.startswith("cuda") and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(torch.device(device))
    return info


def prepare_folder(path: Path, option: str = "--out") -> Path:
    """Create ``path`` now, so that an unwritable folder fails before any training (and is
    removed again if the command fails and leaves it empty)."""
    path = Path(path)
    try:
        _made_folders.extend(p for p in (path, *path.parents) if not p.exists())
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ConfigError(f"cannot create output folder {path}: {err.strerror}") from None
    try:  # a file, not os.access: root may write anywhere, but not in /proc or read-only mounts
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError:
        raise ConfigError(f"output folder {path} is not writable: choose another "
                          f"{option}") from None
    return path


def forget_made_folders() -> None:
    """At the start of a command: the folders of an earlier one are not this one's."""
    _made_folders.clear()


def remove_empty_made_folders() -> None:
    """After a failed command: remove the folders it made that are still empty."""
    for folder in _made_folders:
        with contextlib.suppress(OSError):  # not empty, or gone
            folder.rmdir()
    _made_folders.clear()


def read_record(folder: Path) -> dict | None:
    """The record of the run in ``folder``: the unfinished one's (with its checkpoints),
    else the finished one's (beside its results); None when there is none."""
    for path in (folder / "checkpoints" / RECORD, folder / RECORD):
        with contextlib.suppress(OSError, ValueError):
            record = json.loads(path.read_text())
            if isinstance(record, dict) and isinstance(record.get("argv"), list):
                return record
    return None


def resume_command(command: str, folder: Path) -> str:
    """``sdae COMMAND --resume FOLDER``, the folder absolute: the command that continues
    (or, finished, replays) the run in ``folder`` from wherever it is typed."""
    return f"sdae {command} --resume {shlex.quote(str(Path(folder).resolve()))}"


def run_holding(checkpoint: Path) -> tuple[Path, dict] | None:
    """The run folder whose ``checkpoints/`` holds the file ``checkpoint`` (at any depth),
    and its record; None for a checkpoint outside a run folder."""
    for folder in Path(checkpoint).resolve().parents:
        if folder.name == "checkpoints":
            record = read_record(folder.parent)
            return None if record is None else (folder.parent, record)
    return None


def unfinished_record(checkpoints: Path) -> dict | None:
    """The record of an unfinished run whose checkpoints lie in ``checkpoints``."""
    try:
        record = json.loads((checkpoints / RECORD).read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and not record.get("finished") else None


def describe_progress(checkpoints: Path) -> str:
    """Where an unfinished run stands, from its newest checkpoint: 'pretrain layer 2 from
    epoch 7' (the epoch it continues with)."""
    from .checkpoint import load_checkpoint

    files = sorted(checkpoints.rglob("*.ckpt"), key=lambda p: p.stat().st_mtime)
    results = list(checkpoints.rglob("*.json"))  # finished pieces (imputations), not the record
    results = [p for p in results if p.name != "command.json"]
    if not files:
        return (f"with {len(results)} finished result{'s' * (len(results) != 1)} kept" if results
                else "from the start")
    name = files[-1].relative_to(checkpoints).with_suffix("").as_posix()  # sda-seed0/finetune
    phase = name.replace("/", " ").replace("-", " ").replace("layer", "layer ")
    try:
        state = load_checkpoint(files[-1])
    except SdaeError:
        return f"{phase} from its checkpoint"
    done, total = state.get("epoch", 0), (state.get("config") or {}).get("epochs")
    if total is not None and done >= total:
        return f"after {phase} (finished)"
    return f"{phase} from epoch {done + 1}"


@dataclass
class Run:
    """A run folder being written: ``out``, its ``record`` and whether this process
    ``writes`` (rank 0) and began the checkpoints (``fresh``)."""

    out: Path
    record: dict
    writes: bool = True
    fresh: bool = True

    @property
    def checkpoints(self) -> Path:
        return self.out / "checkpoints"

    @contextlib.contextmanager
    def guard(self, hint: str):
        """A failure of a fresh run removes its checkpoints (continuing it would fail
        again); an interruption keeps them and says how to continue (``hint``)."""
        try:
            yield self
        except SdaeError:
            if self.fresh and self.writes:
                shutil.rmtree(self.checkpoints, ignore_errors=True)
            raise
        except KeyboardInterrupt:
            raise KeyboardInterrupt(hint) from None

    def finish(self) -> None:
        """Record the command beside the results, and mark the checkpoints finished."""
        if self.writes:
            write_json(self.out / RECORD, self.record)
            if self.checkpoints.exists():
                write_json(self.checkpoints / RECORD, {**self.record, "finished": True})


def same_run(a: dict, b: dict) -> bool:
    """Whether two records describe the same run: same command, options and data. An option
    that only one of them has (added to sdae between the two) is not compared: a newer sdae
    continues a long run an older one started."""
    if "options" not in a or not isinstance(b.get("options"), dict):
        return False
    shared = a["options"].keys() & b["options"].keys()
    return all(a.get(k) == b.get(k) for k in ("command", "data", "data_dir")) and \
        all(a["options"][k] == b["options"][k] for k in shared)


def _difference(earlier: dict, record: dict) -> str:
    """What differs between an unfinished run and this command: its options, or (the same
    options) the data they resolve to, as when ``--data auto`` finds MNIST now."""
    if earlier.get("options") == record.get("options") and \
            (earlier.get("data"), earlier.get("data_dir")) != (record.get("data"),
                                                                record.get("data_dir")):
        return (f"data ({earlier.get('data')} in {earlier.get('data_dir')}, where this command "
                f"finds {record.get('data')} in {record.get('data_dir')})")
    return "options"


def start_run(out: Path, record: dict, *, resume: bool = False, overwrite: bool = False,
              writes: bool = True, log=print) -> Run:
    """Open ``out`` for the run ``record`` describes, by the resume rule (module doc).

    ``resume``: the caller has rebuilt ``record`` from the unfinished run's own one.
    Returns the run; raises ConfigError, before anything is written, for other options in
    an unfinished run's folder.
    """
    out = prepare_folder(out) if writes else Path(out)
    run = Run(out, record, writes=writes)
    unfinished = unfinished_record(run.checkpoints)
    if resume and unfinished is None:  # a finished run, or one from before records: its
        # checkpoints are kept and continued (a finished phase replays at once); nothing
        # is written before the run has finished
        log(f"{out} holds no unfinished run: its finished phases replay from their "
            "checkpoints, any missing one is trained")
        run.fresh = False
        return run
    if unfinished is not None and not overwrite:
        if not (resume or same_run(unfinished, record)):
            differs = _difference(unfinished, record)
            raise ConfigError(f"{out} holds an unfinished run with other {differs}: "
                              f"continue it with --resume {out}, or start afresh with "
                              "--overwrite (deletes its checkpoints), or choose another --out")
        log(f"continuing the unfinished run in {out}: {describe_progress(run.checkpoints)}")
        run.record, run.fresh = unfinished, False
        return run
    if writes:  # the files of a finished run stay as they are until this one finishes
        shutil.rmtree(run.checkpoints, ignore_errors=True)
        write_json(run.checkpoints / RECORD, record)
    return run


def start_checkpointed(checkpoint: Path, record: dict, *, overwrite: bool = False,
                       writes: bool = True, log=print) -> Run:
    """The resume rule for a run kept in one checkpoint file (``sdae denoise train
    --checkpoint FILE``): its record lies beside it, in ``FILE.command.json``."""
    checkpoint = Path(checkpoint)
    prepare_folder(checkpoint.parent, "--checkpoint")
    beside = record_beside(checkpoint)
    run = Run(checkpoint.parent, record, writes=writes)
    # None: none, or from before records (the checkpoint's settings decide)
    earlier = checkpointed_record(checkpoint)
    if checkpoint.exists() and not overwrite and not (earlier or {}).get("finished"):
        if earlier is not None and not same_run(earlier, record):
            raise ConfigError(f"{checkpoint} holds an unfinished run with other options: "
                              "continue it with the command it was started with (recorded "
                              f"in {beside}), or start afresh with --overwrite (deletes the "
                              "checkpoint)")
        log(f"continuing the unfinished run in {checkpoint}: {_file_progress(checkpoint)}")
        run.fresh = False
    elif writes:
        checkpoint.unlink(missing_ok=True)
        write_json(beside, record)
    return run


def finish_checkpointed(checkpoint: Path, record: dict) -> None:
    """Mark the run of ``checkpoint`` finished: a later run may start afresh there."""
    write_json(record_beside(checkpoint), {**record, "finished": True})


def record_beside(checkpoint: Path) -> Path:
    """Where the record of a run kept in one checkpoint file lies: ``FILE.command.json``."""
    return Path(checkpoint).with_name(Path(checkpoint).name + "." + RECORD)


def continuing_command(record: dict) -> str | None:
    """The shell command that continues the run of ``record`` (a run kept in one checkpoint
    file, whose record holds its ``argv`` and ``cwd``): the same command, from the folder
    it was started in (its paths may be relative), without ``--overwrite``, which would
    delete the checkpoint. None for a record without them."""
    argv = record.get("argv")
    if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv):
        return None
    kept = [a for a in argv if not (len(a) > 3 and "--overwrite".startswith(a))]
    command = f"sdae {shlex.join(kept)}"
    cwd = record.get("cwd")
    return f"cd {shlex.quote(cwd)} && {command}" if isinstance(cwd, str) else command


def checkpointed_record(checkpoint: Path) -> dict | None:
    """The record of the run kept in the one checkpoint file ``checkpoint``, if it has one."""
    try:
        record = json.loads(record_beside(checkpoint).read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _file_progress(checkpoint: Path) -> str:
    from .checkpoint import load_checkpoint

    try:
        state = load_checkpoint(checkpoint)
    except SdaeError:
        return "from its checkpoint"
    done, total = state.get("epoch", 0), (state.get("config") or {}).get("epochs")
    return "finished" if total is not None and done >= total else f"from epoch {done + 1}"
