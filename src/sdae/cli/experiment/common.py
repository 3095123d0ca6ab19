"""What every experiment command shares: its parser's first lines
(:func:`add_experiment`), the run folder (:func:`resumed`, :func:`in_run_folder`) and the
printed report (:func:`print_report`)."""

from __future__ import annotations

from pathlib import Path

from .. import options as o


def add_experiment(sub, name: str, help: str, description: str, *, handler, data: str,
                   out: str | None, out_help: str | None = None,
                   no_download: str | None = None):
    """The parser of a command that runs an experiment (``handler``) into a run folder,
    with its first options: --data-dir (``data``: its help), --no-download (when
    ``no_download`` names what is not downloaded) and --out (``out``: the default folder).
    The command adds its own, then :func:`~sdae.cli.options.add_resume_options`."""
    e = sub.add_parser(name, help=help, description=description)
    e.set_defaults(handler=handler)
    o.add_data_dir(e, data if "$SDAE_DATA_DIR" in data else f"{data} (default: $SDAE_DATA_DIR)")
    if no_download:
        o.add_no_download(e, no_download)
    o.add_out(e, out, out_help)
    return e


def resumed(args):
    """``args``, or for --resume the options the run was started with."""
    from ..run_folder import resumed_args

    return resumed_args(args, ["experiment", args.experiment])


def in_run_folder(args, work, command: list[str] | None = None, data: str | None = None):
    """Run ``work(out, checkpoints)`` in the run folder ``args.out`` by the resume rule;
    return its results and the folder. ``command``: the words of the command (default:
    ``experiment EXPERIMENT``); ``data``: the data set's name, for the record."""
    from ..run_folder import hint, open_run

    command = command or ["experiment", args.experiment]
    folder = open_run(args, command, data)
    with folder.guard(hint(command, folder.out)):
        results = work(folder.out, folder.checkpoints)
    folder.finish()
    return results, folder.out


def print_report(out: Path) -> None:
    """Show the experiment's results.md, the table it wrote."""
    print()
    print((out / "results.md").read_text())
