"""Files: data sets, model files, training checkpoints, atomic writes and run folders."""
