"""Gradient adversarial training: Grad-AAT (FGSM / PGD), Grad-BAT, Grad-SAT (Eq. 2-3).

Each batch: the adversary (any name of `dfadv_tf.attacks.ADVERSARIES`) crafts adversarial
rows against the current detector in inference mode, then one detector update on
[clean, adversarial] (Eq. 3, "concat": mean CE over the 2B rows with the adversarial
rows weighted lambda = `adv_weight`; the reference's lambda = 1) or on the adversarial
rows alone (Eq. 2, "replace").
"""

import keras

from dfadv_tf import attacks
from dfadv_tf.attacks import common as attack_common
from dfadv_tf import checks
from dfadv_tf.training.base import TrainingModel


@keras.saving.register_keras_serializable(package="dfadv_tf")
class GradientATModel(TrainingModel):
  """Adversarial training against a registered input-gradient adversary.

  Args:
    detector: a built `keras.Model`, (B, H, W, 3) float in [-1, 1] -> (B, 2) logits.
    attack: a name of `dfadv_tf.attacks.ADVERSARIES`: "fgsm" (Eq. 1), "pgd", "bat"
      (Eq. 6, gradient BAT) or "sat" (spatial).
    attack_kwargs: the adversary's parameters (e.g. {"eps_levels": 0.5}, grey levels of
      255); the others keep their registered defaults. The model's
      `keras.random.SeedGenerator` is its seed.
    objective: "concat" (Eq. 3) or "replace" (Eq. 2).
    adv_weight: lambda of Eq. 3 (>= 0), "concat" only.
    seed: int seed of the SeedGenerator (random starts), or None.
    loss_reduction: how the adversary sums the per-example losses
      (`attacks.common.reduce_losses`): "class_mean" (default, the reference: Grad-BAT's
      Eq. 6 step on the mean cross-entropy of each class half of the batch), "sum" or
      "mean"; FGSM, PGD and SAT give the same examples under each.
  Compile: `compile(optimizer=None, ...)`. Trackers: loss, clean_loss, adv_loss ("concat"),
  accuracy, auc.
  """

  def __init__(self, detector, attack="fgsm", attack_kwargs=None, objective="concat",
               adv_weight=1.0, seed=None, loss_reduction="class_mean", **kwargs):
    super().__init__(detector, **kwargs)
    self.adversary = attacks.get(attack)
    self.attack = attack
    self.attack_kwargs = self.adversary.check_params(dict(attack_kwargs or {}))
    self.objective = checks.one_of(objective, ("concat", "replace"), "objective")
    self.adv_weight = checks.nonnegative(adv_weight, "adv_weight")
    self.seed = seed
    self.loss_reduction = attack_common.check_reduction(loss_reduction)
    self.seed_generator = keras.random.SeedGenerator(seed)
    self.add_adversarial_trackers()

  def adversarial_examples(self, images, labels):
    params = dict(self.adversary.defaults(), **self.attack_kwargs)
    out = self.adversary.attack(self.detector, images, labels, seed=self.seed_generator,
                                loss_reduction=self.loss_reduction, **params)
    return out.images, out.inv_var

  def adversary_step(self, images, labels):
    return self.adversarial_examples(images, labels)[0]

  def get_config(self):
    config = super().get_config()
    config.update(attack=self.attack, attack_kwargs=self.attack_kwargs,
                  objective=self.objective, adv_weight=self.adv_weight, seed=self.seed,
                  loss_reduction=self.loss_reduction)
    return config
