"""The core of the papers: corruption -> autoencoder -> training -> stacking.

Nothing here knows of the tasks built on it, the files it is saved to beyond checkpoints,
or the faces (CLI, estimators, experiments) that use it.
"""
