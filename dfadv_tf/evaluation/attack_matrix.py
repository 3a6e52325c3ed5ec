"""Blur as an attack (Sec. IV-C): the adversarial accuracy of every (source, target) pair,
and its tables (Table VII; Tables XII-XIV as sweeps).

For each source model, adversarial examples are crafted on the source (white box) with
each attack, and every target model is scored on them; the cell is the target's
accuracy on those examples ("adversarial accuracy"). The clean row gives each target's
accuracy on the benign images.
"""

import csv
import io

from absl import logging
import tensorflow as tf


def attack_matrix(models, batches, attacks):
  """Rows {sweep_value, attack, source, target, accuracy, num_images}; clean included.

  models: classifiers with `.name`, `.num_classes`, called on images in [-1, 1].
  batches: iterable of (images, labels).
  attacks: [(attack name, sweep value or "", fn(model, images, labels) -> images)].
  The "clean" attack has source "-": each target's accuracy on the benign images.
  """
  correct = {}
  total = 0
  crafts = {(name, value, source.name): tf.function(
      lambda x, y, fn=fn, source=source: fn(source, x, y))
            for name, value, fn in attacks for source in models}
  for images, labels in batches:
    for model in models:
      if int(tf.reduce_max(labels)) >= model.num_classes:
        raise ValueError(f"labels go up to {int(tf.reduce_max(labels))} but model "
                         f"{model.name} has {model.num_classes} classes.")
    total += int(labels.shape[0])
    inputs = {("clean", "", "-"): images}
    for key, craft in crafts.items():
      inputs[key] = craft(images, labels)
    for key, adv in inputs.items():
      for target in models:
        hits = tf.reduce_sum(tf.cast(
            tf.argmax(target(adv), axis=-1, output_type=tf.int32) == labels, tf.int64))
        correct[key + (target.name,)] = correct.get(key + (target.name,), 0) + int(hits)
    logging.info("attacked %d images", total)
  if total == 0:
    raise ValueError("no images to attack.")
  return [{"sweep_value": value, "attack": name, "source": source, "target": target,
           "accuracy": hits / total, "num_images": total}
          for (name, value, source, target), hits in correct.items()]


def to_csv(rows):
  """The matrix rows in long form, one CSV line each."""
  out = io.StringIO()
  writer = csv.DictWriter(out, fieldnames=["sweep_value", "attack", "source", "target",
                                           "accuracy", "num_images"], lineterminator="\n")
  writer.writeheader()
  for row in rows:
    writer.writerow({**row, "accuracy": f"{row['accuracy']:.4f}"})
  return out.getvalue()


def to_markdown(rows, sweep=""):
  """Table VII layout: one row per (sweep value, source), columns target x attack;
  `sweep` names the swept parameter(s) of the first column ("" for none)."""
  targets = list(dict.fromkeys(r["target"] for r in rows))
  attacks = list(dict.fromkeys(r["attack"] for r in rows if r["attack"] != "clean"))
  cell = {(r["sweep_value"], r["source"], r["target"], r["attack"]): r["accuracy"]
          for r in rows}
  columns = [(t, a) for t in targets for a in attacks]
  head = ([sweep] if sweep else []) + ["Source \\ Target"]
  lines = ["| " + " | ".join(head + [f"{t} {a.upper()}" for t, a in columns]) + " |",
           "| " + " | ".join(["---"] * (len(head) + len(columns))) + " |"]
  clean = [f"{cell[('', '-', t, 'clean')]:.2%}" for t in targets for _ in attacks]
  lines.append("| " + " | ".join([""] * (len(head) - 1) + ["clean"] + clean) + " |")
  sources = list(dict.fromkeys(r["source"] for r in rows if r["source"] != "-"))
  values = list(dict.fromkeys(r["sweep_value"] for r in rows if r["sweep_value"] != ""))
  for value, source in [(v, s) for v in values or [""] for s in sources]:
    cells = []
    for target, attack in columns:
      accuracy = cell.get((value, source, target, attack))
      if accuracy is None:  # attack not swept: its single row applies to every value
        accuracy = cell.get(("", source, target, attack))
      cells.append("" if accuracy is None else f"{accuracy:.2%}")
    lead = ([str(value)] if sweep else []) + [source]
    lines.append("| " + " | ".join(lead + cells) + " |")
  return "\n".join(lines) + "\n"
