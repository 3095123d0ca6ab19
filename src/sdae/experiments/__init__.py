"""Experiments of the papers, one module (and one ``sdae experiment`` command) each."""
