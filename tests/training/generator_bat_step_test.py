"""Pins one `GeneratorBATModel.train_step` against the min-max game of Eq. 7 written out
tape by tape (the test's own reference, eager, no shared helper of the library): losses,
trackers and every weight after one step, for Gen-BAT, Two-Gen-BAT (both routings) and
Combined AT."""

import keras
import numpy as np
import tensorflow as tf

from dfadv_tf.ops.blur import pixel_gaussian_blur
from dfadv_tf.training.generator_bat import GeneratorBATModel
from tests.testing.data import tiny_arrays
from tests.testing.models import tiny_detector
from tests.testing.training import GENERATOR_KWARGS

KERNEL = 5


def _pair(**kwargs):
  """Two compiled models with the same weights: one to step, one for the reference."""
  models = []
  for _ in range(2):
    model = GeneratorBATModel(tiny_detector(), kernel_size=KERNEL,
                              generator_kwargs=GENERATOR_KWARGS, **kwargs)
    model.compile(jit_compile=False)
    models.append(model)
  stepped, reference = models
  reference.detector.set_weights(stepped.detector.get_weights())
  for source, target in zip(stepped.generators, reference.generators):
    target.set_weights(source.get_weights())
  return stepped, reference


def _ce(detector, rows, labels, training):
  logits = tf.cast(detector(rows, training=training), tf.float32)
  return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits), logits


def explicit_game(model, images, labels, routing="halves"):
  """One step of Eq. 7 written out with `model`'s layers and optimizers: `g_steps`
  updates of the generators (each maximising the frozen detector's CE over its own rows
  of blur(x, G(x))), then one detector update on [x, adversarial]. Returns the logs."""
  detector, generators = model.detector, model.generators
  images, labels = tf.constant(images), tf.constant(labels)
  n = len(labels)
  if len(generators) == 1:
    owned = [np.ones(n, bool)]
  elif routing == "halves":
    owned = [np.arange(n) % 2 == 0, np.arange(n) % 2 == 1]
  else:
    owned = [labels.numpy() == 0, labels.numpy() == 1]
  g_losses = [[] for _ in generators]
  g_clamped = [[] for _ in generators]
  for _ in range(model.g_steps):
    with tf.GradientTape(persistent=True) as tape:
      maps = []
      for generator, rows in zip(generators, owned):
        if routing == "halves" or len(generators) == 1:  # G on its own rows only
          maps.append(generator(tf.boolean_mask(images, rows), training=True))
        else:  # G on every row, BatchNorm statistics of its own rows
          full = generator(images, training=True, row_mask=tf.constant(rows))
          maps.append(tf.boolean_mask(full, rows))
      inv_var = tf.scatter_nd(
          np.concatenate([np.flatnonzero(r) for r in owned])[:, None],
          tf.concat(maps, 0), [n, *images.shape[1:3], 1])
      blurred = pixel_gaussian_blur(images, inv_var, KERNEL)
      tape.watch(blurred)
      ce, _ = _ce(detector, blurred, labels, training=False)
      losses = [-tf.reduce_mean(tf.boolean_mask(ce, rows)) for rows in owned]
      total = tf.add_n(losses)
    for k, (generator, optimizer) in enumerate(zip(generators, model.generator_optimizers)):
      variables = generator.trainable_variables
      optimizer.apply(tape.gradient(losses[k], variables), variables)
      g_losses[k].append(float(losses[k]))
      clamp = (maps[k] <= generator.min_inv_var) | (maps[k] >= generator.max_inv_var)
      g_clamped[k].append(float(tf.reduce_mean(tf.cast(clamp, tf.float32))))
    adversarial = blurred
    if model.combined_eps_levels is not None:  # x_adv2: FGSM at x_adv1 (Fig. 3)
      grad = tape.gradient(total, blurred)  # -CE: the step goes against it
      adversarial = tf.clip_by_value(
          blurred - model.combined_eps_levels * 2 / 255 * tf.sign(grad), -1.0, 1.0)
    del tape
  rows = tf.concat([images, tf.stop_gradient(adversarial)], 0)
  with tf.GradientTape() as tape:
    ce, logits = _ce(detector, rows, tf.concat([labels, labels], 0), training=True)
    loss = tf.reduce_mean(ce)
  variables = detector.trainable_variables
  model.optimizer.apply(tape.gradient(loss, variables), variables)
  clean = logits[:n]
  auc = keras.metrics.AUC()
  auc.update_state(labels, tf.nn.softmax(clean)[:, 1])
  names = [""] if len(generators) == 1 else ["_real", "_fake"]
  logs = {"loss": float(loss), "clean_loss": float(tf.reduce_mean(ce[:n])),
          "adv_loss": float(tf.reduce_mean(ce[n:])),
          "accuracy": float(np.mean(np.argmax(clean, 1) == labels.numpy())),
          "auc": float(auc.result())}
  for k, name in enumerate(names):
    logs[f"g{name}_loss"] = np.mean(g_losses[k])
    logs[f"g{name}_clamped"] = np.mean(g_clamped[k])
  return logs


class GeneratorBATStepTest(tf.test.TestCase):

  def check_step(self, images, labels, routing="halves", **kwargs):
    stepped, reference = _pair(routing=routing, **kwargs)
    logs = tf.function(stepped.train_step)((tf.constant(images), tf.constant(labels)))
    expected = explicit_game(reference, images, labels, routing)
    self.assertEqual(set(logs), set(expected))
    for name, value in expected.items():
      self.assertAllClose(logs[name], value, rtol=1e-5, atol=1e-6, msg=name)
    for a, b in zip(stepped.weights, reference.weights):
      self.assertAllClose(a, b, rtol=1e-5, atol=1e-6, msg=a.path)
    return stepped

  def test_gen_bat_two_generator_updates(self):  # g_steps 2: the tf.while_loop path
    self.check_step(*tiny_arrays(), generators=1, g_steps=2)

  def test_two_gen_bat_halves(self):
    self.check_step(*tiny_arrays(), generators=2, g_steps=1)

  def test_two_gen_bat_masks_on_a_batch_of_any_order(self):
    images, _ = tiny_arrays()
    self.check_step(images, np.array([1, 0, 0, 1, 1, 1, 0, 1], np.int32), routing="masks",
                    generators=2, g_steps=2)

  def test_combined_at(self):
    self.check_step(*tiny_arrays(), generators=2, g_steps=2, combined_eps_levels=1.0)


if __name__ == "__main__":
  tf.test.main()
