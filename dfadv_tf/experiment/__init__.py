"""One experiment end to end: data -> training mode -> fit -> best detector -> test grids.

The layer above `training`, `data` and `evaluation` that the binaries (`dfadv-train`,
`dfadv-evaluate`) wire flags into; usable from a notebook too:

    config = ExperimentConfig(mode="two_gen_bat", backbone="small_cnn", image_size=64,
                              data_root="demo_data", dataset="ffpp_demo", epochs=2)
    result = run_experiment(config)          # fits, selects on val, evaluates the grids
    print(result["tables"]["cross_method"])  # Markdown, shaped like Table I

Rooms: `config` (ExperimentConfig, modes, paper names), `data` (the data selection:
training, validation and test grids), `modes` (the mode factory), `preflight` (what a
run needs, checked before anything is written), `checkpoints` (what a run keeps and how
a killed one resumes: the folder's lock and config, checkpoints, best detector, backup,
TensorBoard) and `run` (strategies, the run, evaluation).

Model selection follows the reference: the detector with the best accuracy on the
validation split of the training selection is kept (never the test split).
"""

from dfadv_tf.experiment.checkpoints import BEST_DETECTOR
from dfadv_tf.experiment.config import ExperimentConfig, MODES, PAPER_NAMES, POLICIES
from dfadv_tf.experiment.config import STRATEGIES
from dfadv_tf.experiment.data import test_grids, training_selection
from dfadv_tf.experiment.modes import build_training_model
from dfadv_tf.experiment.run import check_detector, evaluate_detector, make_strategy
from dfadv_tf.experiment.run import run_experiment
