"""The faces' side of run folders (:mod:`sdae.io.runs`): the record of a command, and
``--resume RUN_DIR``, which rebuilds a command from the record of its run."""

from __future__ import annotations

import os
from pathlib import Path

# not part of what makes two runs the same: how a run is shown, where it is, and how it is
# continued; the parser's own entries
NOT_RECORDED = {"handler", "argv", "resume", "overwrite", "progress", "out", "command",
                "action", "experiment", "data", "data_dir",
                "tensorboard", "jobs"}  # how a run is shown or shares the cores
# what a resume may change: how the run is shown, and how many of its parts run at once
RESUME_MAY_CHANGE = ("progress", "jobs")


def _plain(value):
    """An option's value as JSON, paths made absolute (a resume may start elsewhere)."""
    if isinstance(value, Path):
        return str(value.resolve())
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def options_record(args) -> dict:
    """The options that make a run what it is, as JSON."""
    return {k: _plain(v) for k, v in sorted(vars(args).items()) if k not in NOT_RECORDED}


def data_record(args, data: str | None = None) -> dict:
    """The data a run reads: ``data`` (a resolved name or absolute path) and the data
    folder, whatever $SDAE_DATA_DIR says when the run is continued."""
    folder = getattr(args, "data_dir", None) or os.environ.get("SDAE_DATA_DIR")
    return {"data": data, "data_dir": str(Path(folder).resolve()) if folder else None}


def resumed_args(args, command: list[str]):
    """``args`` itself, or for ``--resume RUN_DIR`` the arguments the run was started
    with, read from its record (its data as recorded, wherever the resume starts)."""
    from ..errors import ConfigError
    from ..io.runs import read_record
    from .main import build_parser

    if args.resume is None:
        return args
    run = args.resume
    defaults = vars(build_parser().parse_args(command))
    positional = {"paths": "[MODEL] DATA"}  # named as the usage names them
    others = [positional.get(k, f"--{k.replace('_', '-')}") for k, v in vars(args).items()
              if k not in ("resume", "argv", "handler", *RESUME_MAY_CHANGE)
              and v != defaults.get(k)]
    if others:
        raise ConfigError(f"--resume continues a run with the options it started with, "
                          f"and {' '.join(others)} would be ignored: give --resume "
                          "RUN_DIR alone")
    record = read_record(run)
    name = " ".join(command)
    if record is None or record.get("command", name) != name:
        raise ConfigError(f"{run} is not a run folder of sdae {name} (no readable "
                          "command.json): give the --out folder of the run")
    argv = record["argv"]
    resumed = build_parser().parse_args(argv)
    for key, value in record.get("options", {}).items():  # absolute paths
        if isinstance(getattr(resumed, key, None), Path | list) and value is not None:
            resumed_value = getattr(resumed, key)
            setattr(resumed, key, Path(value) if isinstance(resumed_value, Path)
                    else [Path(v) if isinstance(r, Path) else v
                          for v, r in zip(value, resumed_value, strict=False)])
    if record.get("data") and hasattr(resumed, "data"):
        resumed.data = record["data"]
    elif record.get("data") and hasattr(resumed, "paths"):  # sdae cluster's positional DATA
        resumed.paths = [record["data"]]
    if record.get("data_dir") and hasattr(resumed, "data_dir"):
        resumed.data_dir = Path(record["data_dir"])
    resumed.argv, resumed.out, resumed.resume = argv, run, run
    resumed.overwrite = False
    for key in RESUME_MAY_CHANGE:  # as given now (None: not given); not every command has them
        if getattr(args, key, None) is not None:
            setattr(resumed, key, getattr(args, key))
    return resumed


def open_run(args, command: list[str], data: str | None = None, writes: bool = True):
    """Open the run folder ``args.out`` by the resume rule (:func:`sdae.io.runs.start_run`)."""
    from ..io.runs import start_run

    record = {"command": " ".join(command), "argv": args.argv, "options": options_record(args),
              **data_record(args, data)}
    return start_run(args.out, record, resume=args.resume is not None,
                     overwrite=getattr(args, "overwrite", False), writes=writes)


def hint(command: list[str], out: Path) -> str:
    """What an interrupted run says: the command that continues it, from any folder."""
    from ..io.runs import resume_command

    return f"continue with: {resume_command(' '.join(command), out)}"
