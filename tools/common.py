"""absl flag plumbing shared by the binaries: one flag per `ExperimentConfig` field."""

import dataclasses

from absl import flags

from dfadv_tf import experiment
from dfadv_tf.augment.layers import AUGMENTATIONS
from dfadv_tf.models.backbones import BACKBONES

HELP = {
    "mode": "Training mode (paper name in brackets): baseline, grad_aat (Grad-AAT, FGSM), "
            "grad_pgd (multi-step AAT), grad_bat (Grad-BAT, Eq. 6), grad_sat (Grad-SAT), "
            "gen_bat (Gen-BAT), two_gen_bat (Two-Gen-BAT), combined (Combined AT).",
    "backbone": "Detector backbone.",
    "weights": "Backbone weights: none, imagenet (downloads; needs the network) or the "
               "path of a local .weights.h5 file.",
    "image_size": "Input side in pixels.",
    "dropout": "Dropout rate before the 2-logit head.",
    "tsn_segments": "TSN (end of Sec. IV-A): segments K per video, one frame each, logits "
                    "averaged; clips for training and video-level tests (0: single frames).",
    "map_supervision": "Train with the records' manipulation masks (L1 map loss of the "
                       "stehouwer_xception detector).",
    "augment": "Traditional augmentation of the training images (App. E values).",
    "data_root": "Folder holding the datasets' TFRecords (<data_root>/<dataset>/index.json).",
    "dataset": "Training dataset name (ffpp, or ffpp_demo for the built-in benchmark).",
    "train_methods": "Fake methods to train on (the real videos are always added).",
    "train_qualities": "Qualities to train on (raw, c23, c40).",
    "test_methods": "Fake methods of the cross-method grid (Table I).",
    "test_qualities": "Qualities of the cross-quality grid (Table II).",
    "extra_test_datasets": "Other datasets tested whole, e.g. dfd,celebdf.",
    "batch_size": "Global batch size (real and fake drawn 50/50).",
    "epochs": "Epochs.",
    "steps_per_epoch": "Batches per epoch; 0 = one pass over the balanced train split.",
    "val_steps": "Validation batches per epoch; 0 = the whole validation split.",
    "learning_rate": "Detector learning rate (RAdam).",
    "generator_learning_rate": "Generator learning rate (RAdam).",
    "weight_decay": "L2 weight decay of every optimizer.",
    "decay_epochs": "Multiply the learning rates by decay_factor every this many epochs "
                    "(0: constant).",
    "decay_factor": "Step-decay factor.",
    "g_steps": "Generator updates per detector update (generator modes).",
    "generator_width": "Channels of the generator's first layer (CycleGAN: 64).",
    "generator_blocks": "ResNet blocks of the generator (reference: 3).",
    "kernel_size": "Blur kernel size k (odd).",
    "fgsm_eps": "FGSM / PGD / Combined-AT step in the [-1, 1] input space.",
    "pgd_steps": "PGD iterations (grad_pgd).",
    "pgd_step_size": "PGD step size in the [-1, 1] input space.",
    "bat_eps": "Gradient-BAT step size on the inverse-variance map (Eq. 6).",
    "bat_steps": "Gradient-BAT steps (App. C).",
    "sat_tau": "Flow-smoothness weight of the spatial attack.",
    "sat_steps": "Spatial-attack steps.",
    "sat_step_size": "Spatial-attack step size (pixels of flow).",
    "mixed_precision": "Keras dtype policy: float32, mixed_float16 (GPU, loss scaling) or "
                       "mixed_bfloat16 (CPU/TPU).",
    "jit_compile": "XLA-compile the whole train step.",
    "seed": "Seed of the data order, initialisation and attacks.",
    "deterministic": "Deterministic ops and input pipeline (same seed, same weights; "
                     "a killed run restarted with the same flags ends as an "
                     "uninterrupted one); slower on GPU.",
    "strategy": "tf.distribute strategy: default (one device), mirrored (all local "
                "GPUs), multi_worker (MultiWorkerMirroredStrategy; cluster from the "
                "TF_CONFIG environment variable) or tpu (TPUStrategy, TPU_NAME). "
                "--batch_size is the global batch, split over the replicas.",
    "output_dir": "Where checkpoints, logs, tables and results go.",
    "image_every_epochs": "Write adversarial images and sigma maps to TensorBoard every "
                          "this many epochs.",
}
ENUMS = {"mode": experiment.MODES, "backbone": BACKBONES, "augment": AUGMENTATIONS,
         "mixed_precision": experiment.POLICIES, "strategy": experiment.STRATEGIES}


def define_config_flags(flag_values=flags.FLAGS, fields=None):
  """Defines one absl flag per `ExperimentConfig` field (or those in `fields`) in
  `flag_values`."""
  for field in dataclasses.fields(experiment.ExperimentConfig):
    if fields is not None and field.name not in fields:
      continue
    default, name, text = field.default, field.name, HELP[field.name]
    if name in ENUMS:
      flags.DEFINE_enum(name, default, list(ENUMS[name]), text, flag_values=flag_values)
    elif isinstance(default, bool):
      flags.DEFINE_bool(name, default, text, flag_values=flag_values)
    elif isinstance(default, int):
      flags.DEFINE_integer(name, default, text, flag_values=flag_values)
    elif isinstance(default, float):
      flags.DEFINE_float(name, default, text, flag_values=flag_values)
    elif isinstance(default, tuple):
      flags.DEFINE_list(name, list(default), text, flag_values=flag_values)
    else:
      flags.DEFINE_string(name, default, text, flag_values=flag_values)


def config_from_flags(overrides=None):
  """An `ExperimentConfig` from the parsed flags (fields without a flag keep their
  defaults), with `overrides` applied last."""
  values = {f.name: flags.FLAGS[f.name].value
            for f in dataclasses.fields(experiment.ExperimentConfig) if f.name in flags.FLAGS}
  values.update(overrides or {})
  return experiment.ExperimentConfig(**values)
