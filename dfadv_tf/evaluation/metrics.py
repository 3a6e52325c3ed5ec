"""Detection metrics of the paper's tables (I-VI): AUC, ACC, AP, EER, frame and video level.

Convention: fake = 1 is the positive class and `scores` are fake probabilities in [0, 1].
Frame level scores every face crop; video level averages the fake probability of the
frames of each `video_id` (the label of a video is that of its frames). The sums come
from scikit-learn (`roc_auc_score`, `average_precision_score`, `roc_curve`).
"""

import numpy as np
from sklearn import metrics as sk_metrics


def _as_arrays(labels, scores, name):
  labels = np.asarray(labels).reshape(-1)
  scores = np.asarray(scores, dtype=np.float64).reshape(-1)
  if labels.shape != scores.shape:
    raise ValueError(f"{name}: labels and scores must have the same length, got "
                     f"{labels.shape[0]} labels and {scores.shape[0]} scores.")
  if labels.size == 0:
    raise ValueError(f"{name}: no samples to evaluate.")
  bad = set(np.unique(labels).tolist()) - {0, 1}
  if bad:
    raise ValueError(f"{name}: labels must be 0 (real) or 1 (fake), got {sorted(bad)}.")
  if not np.all(np.isfinite(scores)):
    raise ValueError(f"{name}: scores contain NaN or inf.")
  if np.unique(labels).size < 2:
    present = "real" if labels[0] == 0 else "fake"
    raise ValueError(
        f"{name}: AUC, AP and EER need both classes, but all {labels.size} samples are "
        f"{present}. Evaluate a set with real and fake samples.")
  return labels.astype(np.int64), scores


def equal_error_rate(labels, scores, name="evaluation set"):
  """The error rate where the false positive rate equals the false negative rate.

  Interpolated linearly between the two ROC points that bracket FPR = FNR.
  """
  labels, scores = _as_arrays(labels, scores, name)
  fpr, tpr, _ = sk_metrics.roc_curve(labels, scores)
  fnr = 1.0 - tpr
  diff = fpr - fnr  # increases from -1 to 1 along the curve
  i = int(np.searchsorted(diff, 0.0))
  if i == 0:
    return float(fpr[0])
  d0, d1 = diff[i - 1], diff[i]
  t = 0.0 if d1 == d0 else -d0 / (d1 - d0)
  return float(fpr[i - 1] + t * (fpr[i] - fpr[i - 1]))


def frame_metrics(labels, scores, threshold=0.5, name="evaluation set"):
  """Frame-level {"auc", "acc", "ap", "eer", "n"} (fractions in [0, 1], not %)."""
  labels, scores = _as_arrays(labels, scores, name)
  return {
      "auc": float(sk_metrics.roc_auc_score(labels, scores)),
      "acc": float(sk_metrics.accuracy_score(labels, scores >= threshold)),
      "ap": float(sk_metrics.average_precision_score(labels, scores)),
      "eer": equal_error_rate(labels, scores, name),
      "n": int(labels.size),
  }


def aggregate_videos(labels, scores, video_ids, name="evaluation set"):
  """Mean fake probability per video -> (video_labels, video_scores, video_ids).

  A video whose frames carry different labels raises a ValueError (its id is probably
  shared across real and fake sets: make ids unique, e.g. prefix the method).
  """
  labels, scores = np.asarray(labels).reshape(-1), np.asarray(scores, np.float64).reshape(-1)
  video_ids = np.asarray(video_ids).reshape(-1)
  if video_ids.shape != labels.shape:
    raise ValueError(f"{name}: video_ids must have one entry per frame, got "
                     f"{video_ids.shape[0]} ids for {labels.shape[0]} frames.")
  unique, inverse = np.unique(video_ids, return_inverse=True)
  counts = np.bincount(inverse)
  video_scores = np.bincount(inverse, weights=scores) / counts
  label_sums = np.bincount(inverse, weights=labels)
  mixed = (label_sums != 0) & (label_sums != counts)
  if np.any(mixed):
    raise ValueError(f"{name}: video {unique[np.argmax(mixed)]!r} has both real and "
                     "fake frames; video ids must identify one video.")
  video_labels = (label_sums > 0).astype(np.int64)
  return video_labels, video_scores, unique


def video_metrics(labels, scores, video_ids, threshold=0.5, name="evaluation set"):
  """Video-level {"video_auc", "video_acc", "videos"} from per-frame scores."""
  v_labels, v_scores, unique = aggregate_videos(labels, scores, video_ids, name)
  v_labels, v_scores = _as_arrays(v_labels, v_scores, f"{name} (video level)")
  return {
      "video_auc": float(sk_metrics.roc_auc_score(v_labels, v_scores)),
      "video_acc": float(sk_metrics.accuracy_score(v_labels, v_scores >= threshold)),
      "videos": int(unique.size),
  }


def balanced_accuracy_threshold(labels, scores, name="validation set"):
  """The fake-probability threshold that maximises balanced accuracy on (labels, scores).

  For the "ACC at the threshold chosen on validation" columns: pass the validation
  split's labels and scores (frame level, or video level after `aggregate_videos`), then
  score the test sets at the returned threshold (`frame_metrics(..., threshold)`).
  Balanced accuracy, (TPR + TNR) / 2 = (1 + Youden's J) / 2, is what the ACC column of a
  test set with as many real as fake samples measures, and it does not depend on the
  validation split's real/fake ratio. A sample is called fake when score >= threshold.
  The threshold lies midway between the two neighbouring distinct validation scores; of
  equally good cuts, the one with the widest gap between those scores wins (then the
  lowest), so a perfectly separated validation set gets the middle of its gap.
  """
  labels, scores = _as_arrays(labels, scores, name)
  values = np.unique(scores)  # ascending; cut c calls fake every score >= values[c]
  fakes, reals = np.sort(scores[labels == 1]), np.sort(scores[labels == 0])
  tpr = 1.0 - np.searchsorted(fakes, values, side="left") / fakes.size
  tnr = np.searchsorted(reals, values, side="left") / reals.size
  balanced = (tpr + tnr) / 2.0
  gaps = np.diff(values, prepend=values[0])
  best = np.flatnonzero(balanced >= balanced.max() - 1e-12)
  cut = best[np.argmax(gaps[best])]
  if cut == 0:
    return float(values[0])
  return float((values[cut - 1] + values[cut]) / 2.0)
