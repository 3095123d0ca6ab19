"""The ``sdae`` command: thin faces over the library, one module per command.

:mod:`.options` declares the shared options once, :mod:`.run_folder` records a run and
rebuilds it for ``--resume``, :mod:`.main` assembles the parser and ends every command
alike.
"""

from .main import build_parser, entry, main

__all__ = ["build_parser", "entry", "main"]
