"""Gradient adversarial training: Grad-AAT (FGSM / PGD), Grad-BAT, Grad-SAT (Eq. 2-3).

Each batch: the attack crafts adversarial rows against the current detector (in
inference mode unless `attack_kwargs` says `training=True`), then one detector update on
[clean, adversarial] (Eq. 3, "concat": mean CE over the 2B rows with the adversarial rows
weighted lambda = `adv_weight`; the reference's lambda = 1) or on the adversarial rows
alone (Eq. 2, "replace").
"""

import importlib

import keras

from dfadv_tf.training.base import TrainingModel

# attack name -> (module, function); imported on first use.
ATTACKS = {
    "fgsm": ("dfadv_tf.attacks.additive", "fgsm"),
    "pgd": ("dfadv_tf.attacks.additive", "pgd"),
    "blur": ("dfadv_tf.attacks.blur", "blur_attack"),
    "spatial": ("dfadv_tf.attacks.spatial", "spatial_attack"),
}


@keras.saving.register_keras_serializable(package="dfadv_tf")
class GradientATModel(TrainingModel):
  """Adversarial training with an input-gradient attack from `dfadv_tf.attacks`.

  Args:
    detector: a built `keras.Model`, (B, H, W, 3) float in [-1, 1] -> (B, 2) logits.
    attack: "fgsm" (Eq. 1), "pgd", "blur" (Eq. 6, gradient BAT) or "spatial" (SAT).
    attack_kwargs: keyword arguments of the attack function (e.g. {"eps": 1/255}).
      For "pgd" with `random_start`, the model's `keras.random.SeedGenerator` is the
      default `seed`.
    objective: "concat" (Eq. 3) or "replace" (Eq. 2).
    adv_weight: lambda of Eq. 3 (>= 0), "concat" only.
    seed: int seed of the SeedGenerator (random starts), or None.
  Compile: `compile(optimizer=None, ...)`. Trackers: loss, clean_loss, adv_loss ("concat"),
  accuracy, auc.
  """

  def __init__(self, detector, attack="fgsm", attack_kwargs=None, objective="concat",
               adv_weight=1.0, seed=None, **kwargs):
    super().__init__(detector, **kwargs)
    if attack not in ATTACKS:
      raise ValueError(f"attack must be one of {sorted(ATTACKS)}, got {attack!r}.")
    if objective not in ("concat", "replace"):
      raise ValueError(f"objective must be 'concat' or 'replace', got {objective!r}.")
    if adv_weight < 0:
      raise ValueError(f"adv_weight must be >= 0, got {adv_weight!r}.")
    self.attack = attack
    self.attack_kwargs = dict(attack_kwargs or {})
    self.objective = objective
    self.adv_weight = float(adv_weight)
    self.seed = seed
    self.seed_generator = keras.random.SeedGenerator(seed)
    module, name = ATTACKS[attack]
    self._attack_fn = getattr(importlib.import_module(module), name)
    self.add_adversarial_trackers()

  def adversarial_examples(self, images, labels):
    kwargs = dict(self.attack_kwargs)
    if self.attack == "pgd" and kwargs.get("random_start"):
      kwargs.setdefault("seed", self.seed_generator)
    out = self._attack_fn(self.detector, images, labels, **kwargs)
    if self.attack == "blur":
      return out
    return out, None

  def adversary_step(self, images, labels):
    return self.adversarial_examples(images, labels)[0]

  def get_config(self):
    config = super().get_config()
    config.update(attack=self.attack, attack_kwargs=self.attack_kwargs,
                  objective=self.objective, adv_weight=self.adv_weight, seed=self.seed)
    return config
