"""Runs examples/quickstart.ipynb at tiny sizes (nbclient), so the notebook never rots."""

import os

import nbformat
import pytest
import tensorflow as tf
from nbclient import NotebookClient

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NOTEBOOK = os.path.join(ROOT, "examples", "quickstart.ipynb")
TINY_PARAMETERS = """DATA_ROOT = "demo_data"
IDENTITIES = 10
IMAGE_SIZE = 32
EPOCHS = 1
STEPS_PER_EPOCH = 2
GENERATOR_WIDTH = 4
TRAIN_METHOD = "FaceSwap"
SEED = 0"""


class QuickstartNotebookTest(tf.test.TestCase):

  @pytest.mark.slow
  @pytest.mark.ci
  def test_notebook_runs(self):
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    parameters = next(c for c in notebook.cells if c.cell_type == "code")
    self.assertIn("# Parameters", parameters.source)
    parameters.source = "# Parameters (tiny)\n" + TINY_PARAMETERS
    workdir = self.get_temp_dir()
    env_path = os.environ.get("PYTHONPATH", "")
    os.environ["PYTHONPATH"] = ROOT + (os.pathsep + env_path if env_path else "")
    try:
      NotebookClient(notebook, timeout=600, kernel_name="python3",
                     resources={"metadata": {"path": workdir}}).execute()
    finally:
      os.environ["PYTHONPATH"] = env_path
    outputs = "".join(o.get("text", "") for c in notebook.cells if c.cell_type == "code"
                      for o in c.get("outputs", []))
    self.assertIn("+ Two-Gen-BAT", outputs)
    images = [o for c in notebook.cells if c.cell_type == "code"
              for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    self.assertLen(images, 2)  # the loss curves and the blur grid
    self.assertTrue(os.path.exists(os.path.join(workdir, "quickstart_detector.keras")))


if __name__ == "__main__":
  tf.test.main()
