"""``python -m sdae.cli`` (and ``torchrun -m sdae.cli``)."""

from .main import entry

entry()
