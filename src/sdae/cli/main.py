"""The ``sdae`` command: the parser assembled from the command modules, and the one way
every command ends (errors a user can fix as one line and status 2, an interruption as
status 130).

Only argparse is imported at start-up (``sdae --help`` answers at once); each command
imports torch and the library when it runs.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import warnings

from . import (
    apply,
    bench,
    cluster,
    demo,
    denoise,
    detect,
    experiment,
    filters,
    impute,
    info,
    sample,
    train,
)
from .options import EXIT_USAGE, Parser

COMMANDS = (train, filters, info, apply, impute, denoise, detect, cluster, sample, demo,
            bench, experiment)


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = Parser(
        prog="sdae",
        description="Denoising and stacked denoising autoencoders (Vincent et al. 2008, 2010).",
        epilog="Run 'sdae COMMAND --help' for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"sdae {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def command_name(args: argparse.Namespace) -> str:
    """The words that name the command run ('train', 'denoise apply', 'experiment
    clustering'): an error names it as argparse's own errors do."""
    words = (args.command, getattr(args, "action", None), getattr(args, "experiment", None))
    return " ".join(w for w in words if isinstance(w, str))


def _one_line_warnings(name: str, previous):
    """``warnings.showwarning`` for a command: the library's warnings (:class:`SdaeWarning`)
    as one line, ``sdae NAME: warning: ...``; any other as Python shows it."""
    from ..errors import SdaeWarning

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, SdaeWarning):
            print(f"sdae {name}: warning: {message}", file=file or sys.stderr)
        else:
            previous(message, category, filename, lineno, file, line)

    return show


def entry() -> None:
    """The ``sdae`` program: :func:`main`, then the exit with its status. A process of a
    torchrun group leaves the group and ends at once, all its files written and its output
    flushed: the C++ teardown that an ordinary exit runs next is where a gloo process
    aborted now and then ("terminate called without an active exception"), its work done.
    A reader that stops reading (``sdae info MODEL | head -2``) ends the program quietly,
    with status 1, rather than with a traceback."""
    import os

    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:
        # Python's own advice: stdout to /dev/null, so that the exit's flush fails no more
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 1
    from ..core.distributed import leave_process_group, process_group

    if process_group()[0] == 1:
        sys.exit(code)
    try:
        leave_process_group()
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception as err:  # a peer gone, a closed pipe: said, and the status kept
        print(f"sdae: error while leaving the process group: {err}", file=sys.stderr)
        code = code or 1
    finally:
        os._exit(code)


def _terminate(signum, frame):
    raise KeyboardInterrupt  # SIGTERM ends a run like Ctrl-C: checkpoints stay, files whole


def main(argv: list[str] | None = None) -> int:
    import signal
    import threading

    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    args.argv = argv
    from ..core.distributed import under_torchrun
    from ..errors import ConfigError, SdaeError
    from ..io.runs import forget_made_folders, remove_empty_made_folders

    if hasattr(sys.stdout, "reconfigure"):  # progress lines appear at once in logs and pipes
        sys.stdout.reconfigure(line_buffering=True)
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if in_main_thread else None
    forget_made_folders()
    shown = warnings.showwarning
    warnings.showwarning = _one_line_warnings(command_name(args), shown)
    try:
        if under_torchrun() and args.command != "train":
            raise ConfigError(f"sdae {args.command} runs in one process; under torchrun, run "
                              "sdae train")
        args.handler(args)
    except SdaeError as err:
        remove_empty_made_folders()
        print(f"sdae {command_name(args)}: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt as interrupt:
        hint = f"; {interrupt}" if str(interrupt) else ""
        print(f"sdae {command_name(args)}: interrupted{hint}", file=sys.stderr)
        return 130
    finally:
        warnings.showwarning = shown
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)
    return 0
