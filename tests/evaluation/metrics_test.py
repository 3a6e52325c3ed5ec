"""Tests for dfadv_tf.evaluation.metrics."""

import numpy as np
import tensorflow as tf
from sklearn import metrics as sk

from dfadv_tf.evaluation import metrics


class MetricsTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    rng = np.random.default_rng(0)
    self.labels = rng.integers(0, 2, 200)
    self.scores = np.clip(0.3 * self.labels + rng.uniform(0, 0.7, 200), 0, 1)

  def test_frame_metrics_equal_sklearn(self):
    got = metrics.frame_metrics(self.labels, self.scores)
    self.assertAlmostEqual(got["auc"], sk.roc_auc_score(self.labels, self.scores))
    self.assertAlmostEqual(got["ap"], sk.average_precision_score(self.labels, self.scores))
    self.assertAlmostEqual(got["acc"], np.mean((self.scores >= 0.5) == self.labels))
    self.assertEqual(got["n"], 200)

  def test_hand_made_scores(self):
    labels = [0, 0, 1, 1]
    got = metrics.frame_metrics(labels, [0.1, 0.6, 0.4, 0.9])
    self.assertAlmostEqual(got["auc"], 0.75)  # 3 of the 4 (fake, real) pairs ordered
    self.assertAlmostEqual(got["acc"], 0.5)
    self.assertAlmostEqual(got["eer"], 0.5)
    perfect = metrics.frame_metrics(labels, [0.1, 0.2, 0.8, 0.9])
    self.assertEqual((perfect["auc"], perfect["acc"], perfect["eer"]), (1.0, 1.0, 0.0))

  def test_eer_is_where_fpr_equals_fnr(self):
    eer = metrics.equal_error_rate(self.labels, self.scores)
    fpr, tpr, _ = sk.roc_curve(self.labels, self.scores)
    i = np.argmin(np.abs(fpr - (1 - tpr)))
    self.assertLess(abs(eer - fpr[i]), 0.05)
    self.assertBetween(eer, 0.0, 0.5)

  def test_video_aggregation(self):
    labels = [0, 0, 0, 1, 1, 1, 1]
    scores = [0.2, 0.4, 0.9, 0.6, 0.8, 0.1, 0.3]
    videos = ["r1", "r1", "r2", "f1", "f1", "f2", "f2"]
    v_labels, v_scores, ids = metrics.aggregate_videos(labels, scores, videos)
    self.assertAllEqual(ids, ["f1", "f2", "r1", "r2"])
    self.assertAllEqual(v_labels, [1, 1, 0, 0])
    self.assertAllClose(v_scores, [0.7, 0.2, 0.3, 0.9])
    got = metrics.video_metrics(labels, scores, videos)
    self.assertAlmostEqual(got["video_auc"], 0.25)  # f1 > r1; f1 < r2, f2 < r1, f2 < r2
    self.assertAlmostEqual(got["video_acc"], 0.5)  # f1 and r1 right at 0.5
    self.assertEqual(got["videos"], 4)

  def test_single_class_set_is_a_clear_error(self):
    with self.assertRaisesRegex(ValueError, "NT c40: .*both classes.*all 3 samples are fake"):
      metrics.frame_metrics([1, 1, 1], [0.2, 0.3, 0.9], name="NT c40")

  def test_bad_inputs(self):
    with self.assertRaisesRegex(ValueError, "same length"):
      metrics.frame_metrics([0, 1], [0.5])
    with self.assertRaisesRegex(ValueError, r"0 \(real\) or 1 \(fake\)"):
      metrics.frame_metrics([0, 2], [0.1, 0.2])
    with self.assertRaisesRegex(ValueError, "NaN"):
      metrics.frame_metrics([0, 1], [0.1, np.nan])
    with self.assertRaisesRegex(ValueError, "both real and fake frames"):
      metrics.aggregate_videos([0, 1], [0.1, 0.2], ["v", "v"])
    with self.assertRaisesRegex(ValueError, "one entry per frame"):
      metrics.aggregate_videos([0, 1], [0.1, 0.2], ["v"])


class BalancedAccuracyThresholdTest(tf.test.TestCase):

  def balanced_accuracy(self, labels, scores, threshold):
    fake = scores >= threshold
    return (np.mean(fake[labels == 1]) + np.mean(~fake[labels == 0])) / 2

  def test_separated_scores_get_the_middle_of_the_gap(self):
    threshold = metrics.balanced_accuracy_threshold([0, 0, 1, 1], [0.01, 0.1, 0.3, 0.99])
    self.assertAlmostEqual(threshold, 0.2)

  def test_hand_made_overlap(self):
    # Cuts: >= 0.4 gives TPR 2/3, TNR 1/2 (7/12); >= 0.5 gives 2/3, 1 (5/6, the best);
    # >= 0.7 gives 1/3, 1 (2/3).
    labels = np.array([0, 0, 1, 1, 1])
    scores = np.array([0.2, 0.45, 0.1, 0.6, 0.8])
    threshold = metrics.balanced_accuracy_threshold(labels, scores)
    self.assertAlmostEqual(threshold, (0.45 + 0.6) / 2)
    self.assertAlmostEqual(self.balanced_accuracy(labels, scores, threshold), 5 / 6)

  def test_no_threshold_does_better_on_random_scores(self):
    rng = np.random.default_rng(1)
    for trial in range(20):
      n = int(rng.integers(5, 60))
      labels = np.concatenate([[0, 1], rng.integers(0, 2, n)])
      scores = np.round(rng.uniform(0, 1, labels.size) + 0.3 * labels, 2)  # with ties
      threshold = metrics.balanced_accuracy_threshold(labels, scores)
      got = self.balanced_accuracy(labels, scores, threshold)
      best = max(self.balanced_accuracy(labels, scores, t)
                 for t in np.concatenate([scores, [np.inf]]))
      self.assertAlmostEqual(got, best, msg=f"trial {trial}")
      # Youden's J of the ROC curve is the same optimum.
      fpr, tpr, _ = sk.roc_curve(labels, scores)
      self.assertAlmostEqual(got, (1 + np.max(tpr - fpr)) / 2, msg=f"trial {trial}")

  def test_shifted_scores_move_the_threshold(self):
    # Fakes of an unseen method scored low: the validation threshold follows them, and
    # the accuracy at it beats the accuracy at 0.5.
    labels = np.array([0] * 50 + [1] * 50)
    scores = np.concatenate([np.linspace(0.0, 0.1, 50), np.linspace(0.2, 0.4, 50)])
    threshold = metrics.balanced_accuracy_threshold(labels, scores)
    self.assertBetween(threshold, 0.1, 0.2)
    self.assertEqual(metrics.frame_metrics(labels, scores, threshold)["acc"], 1.0)
    self.assertEqual(metrics.frame_metrics(labels, scores)["acc"], 0.5)

  def test_bad_inputs_name_the_set(self):
    with self.assertRaisesRegex(ValueError, "val FS c23: .*both classes"):
      metrics.balanced_accuracy_threshold([1, 1], [0.2, 0.3], name="val FS c23")
    with self.assertRaisesRegex(ValueError, "same length"):
      metrics.balanced_accuracy_threshold([0, 1], [0.5])


if __name__ == "__main__":
  tf.test.main()
