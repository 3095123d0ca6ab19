"""examples/tutorial.ipynb runs from top to bottom (on the MNIST subset shipped with sdae),
so that it never rots."""

from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "tutorial.ipynb"


def test_the_tutorial_runs_and_shows_the_papers_ordering(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=900, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError, with the cell, if any cell fails
    printed = "".join(output.get("text", "") for cell in notebook.cells
                      for output in cell.get("outputs", []) if output.get("name") == "stdout")
    errors = {line.split(":")[0]: float(line.rsplit(" ", 1)[1].rstrip("%"))
              for line in printed.splitlines() if "test error" in line}
    # the lecture's point, as the notebook measures it
    assert errors["raw pixels"] > errors["AE"] > errors["DAE, q = 0.25"] > errors["DAE, q = 0.5"]
    assert (tmp_path / "tutorial-filters.png").stat().st_size > 10_000
