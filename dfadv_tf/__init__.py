"""dfadv_tf: deepfake forensics via an adversarial game, in Keras 3 / TensorFlow.

Implements "Deepfake Forensics via An Adversarial Game" (Zhi Wang, Yiwen Guo and Wangmeng Zuo):
a deepfake detector trained against adversaries that blur its training faces pixel by
pixel (gradient BAT, one or two generators), perturb them (FGSM / PGD) or warp them
(spatial flow).

Sub-packages (dependencies point one way, ops <- attacks/augment <- models <- training):
  ops         pure tensor ops: pixel-wise Gaussian blur, flow warp
  attacks     input-gradient adversaries: fgsm / pgd, blur (BAT), spatial (SAT), combined
  augment     traditional augmentation layers (App. E)
  models      backbones, the blur generator, attention models, TSN
  training    keras.Model subclasses with their own train_step, RAdam, callbacks
  data        TFRecord schema and pipelines, FF++ / DFD / Celeb-DF, the offline benchmark
  evaluation  AUC / ACC / AP / EER, cross-method and cross-quality grids
  experiment  ExperimentConfig, the mode factory, one run end to end
  cli         the dfadv-* binaries: flags -> library calls
"""

__version__ = "0.1.0"
