"""One detector on many named test sets -> tables shaped like the paper's Tables I-III.

A *grid* is a mapping `{set name: tf.data.Dataset or TestSet}` whose elements are dicts
with at least "image" (B, H, W, 3) in [-1, 1], "label" (B,) and "video_id" (B,) - what
`dfadv_tf.data.records.load_split(..., with_metadata=True)` yields; a video is keyed by
(dataset, method, quality, video_id), those of the four the batches carry, so FF++ fake
ids such as 071_054, which recur across methods and qualities, stay apart in a pooled
set. This module does not build datasets itself (evaluation depends only on TF, numpy
and scikit-learn); the experiment's data selection
(`dfadv_tf.experiment.data.test_grids`) chooses them, with any set names.

Tables: one row per model, for every set an AUC and an ACC column (in %), then their
average ("Avg") over every set of the row (as the paper's Tables I and IV); a set made
with `TestSet(..., report_acc=False)` shows its ACC as "–" (the paper's DFD, whose
classes are very unbalanced) and the Avg ACC is over the sets that have one. Written as
Markdown and CSV (atomically) and to TensorBoard as text.

Thresholds: "ACC" is the accuracy at 0.5 (the paper's). Given the thresholds chosen on
a validation split (`validation_thresholds`: the fake-probability cut of best balanced
accuracy, `metrics.balanced_accuracy_threshold`, at frame and at video level), each
set also gets "acc_val" / "video_acc_val", the accuracy at them, and the tables an
"ACC@val" column per set; every Markdown table opens with a note naming each ACC's
threshold (per model). Results without validation thresholds have no ACC@val column, and
their note names the 0.5 threshold only.
"""

import csv
import io
import os
import typing
import weakref

import numpy as np
import tensorflow as tf

from dfadv_tf.evaluation import metrics as metrics_lib
from dfadv_tf.files import atomic_write_text

# The paper's abbreviations of the FF++ methods.
SHORT_NAMES = {"Deepfakes": "DF", "Face2Face": "F2F", "FaceSwap": "FS",
               "NeuralTextures": "NT", "FaceShifter": "FSh"}
# The paper's names of the datasets.
DATASET_NAMES = {"ffpp": "FF++", "dfd": "DFD", "celebdf": "Celeb-DF"}
GRID_TITLES = {"cross_method": "Cross-method (trained on one method, tested on each)",
               "cross_quality": "Cross-quality (trained on one quality, tested on each)",
               "pooled": "Pooled (tested on the training selection's methods and "
                         "qualities together)"}
LEVELS = {"frame": ("auc", "acc"), "video": ("video_auc", "video_acc")}
# The ACC at the thresholds chosen on validation, per level (a column when present).
VAL_COLUMNS = {"frame": "acc_val", "video": "video_acc_val"}
VAL_THRESHOLD_KEYS = {"frame": "val_threshold", "video": "video_val_threshold"}
COLUMN_LABELS = {"auc": "AUC", "acc": "ACC", "acc_val": "ACC@val"}
VIDEO_KEYS = ("dataset", "method", "quality", "video_id")
MISSING = "\u2013"  # the paper's en dash for a metric it does not report


class TestSet(typing.NamedTuple):
  """A set of a grid: its dataset, and whether its tables report an ACC."""
  dataset: typing.Any
  report_acc: bool = True


def set_name(methods, qualities):
  """'NT c23' style name of a test set of fake `methods` at `qualities` (a name or a
  list each; several are joined with '+': 'NT raw+c23+c40', 'DF+F2F+FS+NT c23')."""
  methods = [methods] if isinstance(methods, str) else list(methods)
  qualities = [qualities] if isinstance(qualities, str) else list(qualities)
  return (f"{'+'.join(SHORT_NAMES.get(m, m) for m in methods)} "
          f"{'+'.join(qualities)}")


def dataset_name(dataset):
  """The paper's name of a dataset ('FF++', 'DFD', 'Celeb-DF'), else `dataset`."""
  return DATASET_NAMES.get(dataset, dataset)


def fake_probability(detector, images):
  """Softmax probability of the fake class (column 1) of the detector's logits, float32."""
  logits = tf.cast(detector(images, training=False), tf.float32)
  return tf.nn.softmax(logits, axis=-1)[:, 1]


_SCORERS = weakref.WeakKeyDictionary()


def _scorer(detector):
  """A compiled images -> fake probability function, one per detector (cached, so
  evaluating many sets traces once)."""
  if detector not in _SCORERS:
    _SCORERS[detector] = tf.function(lambda images: fake_probability(detector, images),
                                     reduce_retracing=True)
  return _SCORERS[detector]


def predict_scores(detector, dataset):
  """Runs `detector` (images -> 2 logits) over a dataset of metadata dicts.

  Returns numpy (labels int, fake probabilities float, video keys str): a frame's key is
  "dataset/method/quality/video_id" from those of `VIDEO_KEYS` its batch carries.
  """
  score = _scorer(detector)
  labels, scores, videos = [], [], []
  for batch in dataset:
    if not isinstance(batch, dict) or not {"image", "label", "video_id"} <= set(batch):
      raise ValueError("evaluation datasets must yield dicts with 'image', 'label' and "
                       "'video_id' (load_split(..., with_metadata=True)); got "
                       f"{type(batch).__name__}"
                       f"{sorted(batch) if isinstance(batch, dict) else ''}.")
    scores.append(score(batch["image"]).numpy())
    labels.append(batch["label"].numpy())
    parts = [[_text(v) for v in batch[key].numpy()] for key in VIDEO_KEYS if key in batch]
    videos.append(["/".join(values) for values in zip(*parts)])
  if not labels:
    raise ValueError("evaluation dataset is empty.")
  return np.concatenate(labels), np.concatenate(scores), np.concatenate(videos)


def _text(value):
  return value.decode() if isinstance(value, bytes) else str(value)


def validation_thresholds(detector, dataset, name="validation set"):
  """{"frame": t, "video": t_video}: the fake-probability thresholds of best balanced
  accuracy (`metrics.balanced_accuracy_threshold`) of `detector` on a metadata-dict
  dataset (the validation split), on its frames and on its videos' mean scores (videos
  keyed as `predict_scores`). ValueError when it is empty or lacks a class."""
  labels, scores, video_ids = predict_scores(detector, dataset)
  v_labels, v_scores, _ = metrics_lib.aggregate_videos(labels, scores, video_ids, name)
  return {"frame": metrics_lib.balanced_accuracy_threshold(labels, scores, name),
          "video": metrics_lib.balanced_accuracy_threshold(v_labels, v_scores,
                                                           f"{name} (video level)")}


def evaluate_set(detector, dataset, name="evaluation set", threshold=0.5, report_acc=True,
                 val_thresholds=None):
  """Frame- and video-level metrics of one set: auc, acc, ap, eer, n, video_auc, ...,
  `threshold` (that of acc and video_acc) and `report_acc` (False: the tables show its
  ACC as "–"; the value is kept). With `val_thresholds` ({"frame", "video"}, from
  `validation_thresholds`) also acc_val and video_acc_val, the accuracies at them, and
  the thresholds as val_threshold and video_val_threshold."""
  labels, scores, video_ids = predict_scores(detector, dataset)
  result = metrics_lib.frame_metrics(labels, scores, threshold, name)
  result.update(metrics_lib.video_metrics(labels, scores, video_ids, threshold, name))
  result["threshold"] = float(threshold)
  if val_thresholds is not None:
    frame, video = float(val_thresholds["frame"]), float(val_thresholds["video"])
    v_labels, v_scores, _ = metrics_lib.aggregate_videos(labels, scores, video_ids, name)
    result.update(acc_val=float(np.mean((scores >= frame) == (labels == 1))),
                  val_threshold=frame,
                  video_acc_val=float(np.mean((v_scores >= video) == (v_labels == 1))),
                  video_val_threshold=video)
    if "source" in val_thresholds:  # recorded by the training run, not chosen here
      result["val_threshold_source"] = str(val_thresholds["source"])
  result["report_acc"] = bool(report_acc)
  return result


def evaluate_grid(detector, grid, threshold=0.5, val_thresholds=None):
  """{set name: metrics dict} for every set of `grid` ({name: dataset or TestSet});
  `val_thresholds` as `evaluate_set`."""
  out = {}
  for name, test_set in grid.items():
    if not isinstance(test_set, TestSet):
      test_set = TestSet(test_set)
    out[name] = evaluate_set(detector, test_set.dataset, name, threshold,
                             test_set.report_acc, val_thresholds)
  return out


def table_rows(results, columns=("auc", "acc")):
  """{model: {set: metrics}} -> (header, rows) with values in % and an "Avg" column pair.

  Sets keep the order of the first model's results. A set whose metrics say
  `report_acc: False` has None in its ACC column; each Avg is the mean over the sets
  with a value in that column (None if none has one).
  """
  if not results:
    raise ValueError("results is empty: evaluate at least one model on one set.")
  sets = list(next(iter(results.values())))
  header = ["Method"] + [f"{s} {column_label(c)} (%)" for s in sets + ["Avg"]
                        for c in columns]
  rows = []
  for model, by_set in results.items():
    missing = [s for s in sets if s not in by_set]
    if missing:
      raise ValueError(f"model {model!r} has no results for sets {missing}.")
    values = [[_cell(by_set[s], c) for c in columns] for s in sets]
    average = [_mean([v[i] for v in values]) for i in range(len(columns))]
    rows.append([model] + [v for pair in values + [average] for v in pair])
  return header, rows


def column_label(column):
  """The header word of a metric column: AUC, ACC (at the results' threshold, 0.5),
  ACC@val (at the validation threshold); video_* columns as their frame ones."""
  column = column[len("video_"):] if column.startswith("video_") else column
  return COLUMN_LABELS.get(column, column.upper())


def _cell(metrics, column):
  """The metric in %, or None for the ACC of a set that does not report one, and for a
  validation-threshold ACC that the results lack (evaluated without one)."""
  if "acc" in column and not metrics.get("report_acc", True):
    return None
  if column in VAL_COLUMNS.values() and column not in metrics:
    return None
  return 100.0 * metrics[column]


def _mean(values):
  values = [v for v in values if v is not None]
  return float(np.mean(values)) if values else None


def to_markdown(header, rows, digits=2):
  lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
  for row in rows:
    cells = [row[0]] + [MISSING if v is None else f"{v:.{digits}f}" for v in row[1:]]
    lines.append("| " + " | ".join(cells) + " |")
  return "\n".join(lines) + "\n"


def text_summary(markdown):
  """`markdown` for TensorBoard's Text tab: each Markdown table becomes a fenced block
  of aligned columns, one row per line (the tab draws tables in narrow columns that
  wrap inside numbers); the other lines are kept."""
  out, table = [], []

  def flush():
    rows = [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in table
            if set(line) - set("|-: ")]  # not the |---| line
    table.clear()
    if not rows:
      return
    widths = [max(len(row[i]) for row in rows if i < len(row))
              for i in range(max(map(len, rows)))]
    lines = ["  ".join(cell.ljust(width) if i == 0 else cell.rjust(width)
                       for i, (cell, width) in enumerate(zip(row, widths))).rstrip()
             for row in rows]
    out.extend(["```", lines[0], "  ".join("-" * width for width in widths), *lines[1:],
                "```"])

  for line in markdown.splitlines():
    if line.lstrip().startswith("|"):
      table.append(line)
    else:
      flush()
      out.append(line)
  flush()
  return "\n".join(out) + "\n"


def to_csv(header, rows, digits=4):
  """CSV of the table; a metric that is not reported is an empty cell."""
  out = io.StringIO()
  writer = csv.writer(out)
  writer.writerow(header)
  for row in rows:
    writer.writerow([row[0]] + ["" if v is None else f"{v:.{digits}f}" for v in row[1:]])
  return out.getvalue()


def write_table(results, path_prefix, title, columns=("auc", "acc"), logdir=None,
                note=None):
  """Writes `<path_prefix>.md` and `<path_prefix>.csv` (and a TensorBoard text summary
  under `logdir`, tag = title). `note`: a line between the title and the Markdown table
  (e.g. `threshold_note`). Returns the Markdown text."""
  header, rows = table_rows(results, columns)
  markdown = f"### {title}\n\n" + (f"{note}\n\n" if note else "") + to_markdown(header,
                                                                                  rows)
  atomic_write_text(path_prefix + ".md", markdown)
  atomic_write_text(path_prefix + ".csv", to_csv(header, rows))
  if logdir is not None:
    writer = tf.summary.create_file_writer(logdir)
    with writer.as_default():
      tf.summary.text(title, text_summary(markdown), step=0)
    writer.flush()
    writer.close()
  return markdown


def _format_threshold(values):
  values = sorted(set(values))
  return "/".join(f"{v:.3g}" for v in values) if values else "none"


def threshold_note(results, level="frame"):
  """The line that says which threshold each ACC column of a table of `results`
  ({model: {set: metrics}}) uses: "ACC at 0.5 (the paper's)" and, when the results
  have it, "ACC@val at the threshold of best balanced accuracy on the validation
  split of the training selection" with each model's threshold."""
  sets = [m for by_set in results.values() for m in by_set.values()]
  note = (f"ACC: at threshold {_format_threshold(m.get('threshold', 0.5) for m in sets)} "
          "(the paper's)")
  key = VAL_THRESHOLD_KEYS[level]
  if any(key in m for m in sets):
    per_model = "; ".join(
        f"{model} {_format_threshold(m[key] for m in by_set.values() if key in m)}"
        for model, by_set in results.items())
    note += (f". ACC@val: at the {level}-level threshold of best balanced accuracy on "
             f"the validation split of the training selection, per model ({per_model})")
    recorded = sorted({m["val_threshold_source"] for m in sets
                       if "val_threshold_source" in m})
    if recorded:
      note += (", as recorded by the training run (this data has no validation split: "
               f"{', '.join(recorded)})")
  return f"*{note}.*"


def write_tables(results_by_model, output_dir, logdir=None, level="frame"):
  """{model: {grid: {set: metrics}}} -> one Markdown/CSV table per grid under
  `<output_dir>/tables/` (`<grid>.md` for frame level, `<grid>_video.md` for video
  level AUC/ACC), with an ACC@val column per set when any set has one (`evaluate_set`'s
  `val_thresholds`) and the note of `threshold_note`; returns {grid: markdown}."""
  if level not in LEVELS:
    raise ValueError(f"level must be one of {tuple(LEVELS)}, got {level!r}.")
  grids = list(next(iter(results_by_model.values())))
  suffix = "" if level == "frame" else "_video"
  out = {}
  for g in grids:
    results = {m: r[g] for m, r in results_by_model.items()}
    columns = LEVELS[level]
    if any(VAL_COLUMNS[level] in metrics for by_set in results.values()
           for metrics in by_set.values()):
      columns += (VAL_COLUMNS[level],)
    out[g] = write_table(results, os.path.join(output_dir, "tables", g + suffix),
                         f"{GRID_TITLES.get(g, g)}, {level} level", columns=columns,
                         logdir=logdir, note=threshold_note(results, level))
  return out
