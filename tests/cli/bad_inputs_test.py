"""Bad inputs across the library and the binaries: each is refused with an exception type
(or a non-zero exit code), a message that names the input, and no partial output.

Policy for image channels: image *files and encoded bytes* (records, `tools/detect.py`,
`tools/attack.py`) are decoded to RGB, gray replicated and alpha dropped; *arrays* given
to the Python API (`serving.preprocess`, `records.encode_image`) must already be RGB
(H, W, 3) uint8 and anything else is refused. A negative inverse variance is clamped to
0 (no blur) by `pixel_gaussian_blur`, as documented there; NaN is refused.
"""

import glob
import json
import os
import tempfile
import threading
import time

import cv2
import keras
import numpy as np
import pytest
import tensorflow as tf

from dfadv_tf import experiment
from dfadv_tf import files
from dfadv_tf.experiment import checkpoints as experiment_checkpoints
from dfadv_tf.experiment import data as experiment_data
from dfadv_tf import serving
from dfadv_tf.data import datasets
from dfadv_tf.data import faces
from dfadv_tf.data import records
from dfadv_tf.evaluation import metrics
from dfadv_tf.models.backbones import build_detector, get_backbone
from dfadv_tf.ops.blur import pixel_gaussian_blur
from dfadv_tf.training import DetectorModel
from dfadv_tf.training.base import unpack
from tests.testing import faults
from tests.testing import tools as utils
from tests.testing.video import write_video

EXAMPLE = dict(label=1, dataset="d", method="Deepfakes", quality="c23", split="train",
               video_id="071_054", frame_index=3)


def lambda_model(path):
  inputs = keras.Input((utils.IMAGE_SIZE, utils.IMAGE_SIZE, 3))
  logits = keras.layers.Dense(2)(keras.layers.GlobalAveragePooling2D()(
      keras.layers.Lambda(lambda x: x * 2.0)(inputs)))
  keras.Model(inputs, logits).save(path)
  return path


def stray_files(folder):
  """Temporary files (atomic writes) left under `folder`."""
  return [os.path.join(top, name) for top, _, names in os.walk(folder) for name in names
          if name.startswith(".tmp-") or name.endswith(".tmp")]


class LibraryBadInputsTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.tmp = tempfile.mkdtemp(prefix="bad-inputs-")
    cls.data_root = utils.make_tiny_benchmark(os.path.join(cls.tmp, "data"))

  def config(self, **overrides):
    values = dict(backbone="small_cnn", image_size=utils.IMAGE_SIZE, batch_size=4,
                  data_root=self.data_root, dataset=utils.DATASET,
                  train_methods=("FaceSwap",), test_methods=("FaceSwap",),
                  test_qualities=("c23",), output_dir=os.path.join(self.tmp, "run"))
    values.update(overrides)
    return experiment.ExperimentConfig(**values)

  # ---- records ---------------------------------------------------------------------

  def test_non_image_bytes(self):
    with self.assertRaisesRegex(ValueError, "'071_054' frame 3 are not PNG/JPEG"):
      records.make_example(b"GIF? no, just text", **EXAMPLE)

  def test_rgba_and_gray_arrays_are_refused_by_encode_image(self):
    for shape in ((8, 8, 4), (8, 8, 1)):
      with self.assertRaisesRegex(ValueError, r"uint8 \(H, W, 3\) or \(H, W\), got uint8 "
                                  + str(shape).replace("(", r"\(").replace(")", r"\)")):
        records.encode_image(np.zeros(shape, np.uint8))

  def test_gray_and_rgba_image_bytes_are_converted_to_rgb(self):
    gray = cv2.imencode(".png", np.full((8, 8), 200, np.uint8))[1].tobytes()
    rgba = cv2.imencode(".png", np.full((8, 8, 4), 100, np.uint8))[1].tobytes()
    root = os.path.join(self.tmp, "channels")
    writer = records.ShardedWriter(root, "d")
    writer.write("train", "Deepfakes", "c23", "00000",
                 [records.make_example(image, **EXAMPLE) for image in (gray, rgba)])
    images, _ = next(iter(records.load_split(root, "d", split="train", image_size=8,
                                             batch_size=2, shuffle=False)))
    self.assertEqual(images.shape, (2, 8, 8, 3))
    self.assertAllClose(images[0], tf.fill((8, 8, 3), 200 / 127.5 - 1), atol=1e-5)

  def test_corrupt_record(self):
    root = os.path.join(self.tmp, "corrupt")
    records.ShardedWriter(root, "d").write(
        "train", "Deepfakes", "c23", "00000",
        [records.make_example(np.zeros((8, 8, 3), np.uint8), **EXAMPLE)] * 3)
    path = os.path.join(root, "d", "train/Deepfakes/c23/00000.tfrecord")
    with open(path, "r+b") as f:
      f.seek(30)
      f.write(b"\xff" * 40)
    with self.assertRaisesRegex(tf.errors.InvalidArgumentError,
                                "corrupted TFRecord shard .*00000.tfrecord"):
      list(records.load_split(root, "d", split="train", image_size=8, batch_size=3))

  def test_missing_index(self):
    with self.assertRaisesRegex(FileNotFoundError, "no dataset index at .*nowhere"):
      records.read_index(self.tmp, "nowhere")

  def test_unknown_quality_and_split(self):
    with self.assertRaisesRegex(ValueError, r"quality \['c50'\] not in dataset"):
      records.select_shards(self.data_root, utils.DATASET, None, ["c50"], "train")
    with self.assertRaisesRegex(ValueError, r"split \['dev'\] not in dataset"):
      records.select_shards(self.data_root, utils.DATASET, None, None, "dev")

  def test_single_class_selection_cannot_be_balanced(self):
    with self.assertRaisesRegex(ValueError, r"no \['fake'\]"):
      records.load_split(self.data_root, utils.DATASET, ["youtube"], ["c23"],
                         balance="oversample")

  def write_shard(self, name, examples, label=1):
    """A dataset `name` with one train shard of `examples` and a valid real shard."""
    root = os.path.join(self.tmp, name)
    writer = records.ShardedWriter(root, "d")
    writer.write("train", "youtube", "c23", "00000", [records.make_example(
        np.zeros((8, 8, 3), np.uint8), **dict(EXAMPLE, label=0, method="youtube"))] * 2)
    writer.write("train", "Deepfakes", "c23", "00000", examples)
    return root

  def test_missing_shard_is_an_error_naming_it_not_a_hang(self):
    root = self.write_shard("missing", [records.make_example(
        np.zeros((8, 8, 3), np.uint8), **EXAMPLE)] * 2)
    shard = os.path.join(root, "d", "train/Deepfakes/c23/00000.tfrecord")
    dataset = records.load_split(root, "d", split="train", image_size=8, batch_size=2,
                                 balance="oversample", repeat=True)
    os.remove(shard)  # after the dataset was built (another process deleted it)
    with self.assertRaisesRegex(FileNotFoundError, f"TFRecord shard {shard} is listed in "
                                ".*index.json but does not exist"):
      records.load_split(root, "d", split="train", image_size=8, batch_size=2)
    errors = []

    def read():
      try:
        list(dataset.take(4))
      except tf.errors.InvalidArgumentError as e:
        errors.append(e.message)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout=60)  # TFRecordDataset(...).ignore_errors() waited forever
    self.assertFalse(reader.is_alive(), "reading a deleted shard hangs")
    self.assertRegex(errors[0], f"TFRecord shard {shard} is listed in its dataset index "
                     "but does not exist")

  def test_labels_outside_0_and_1_are_refused_on_write_and_on_read(self):
    with self.assertRaisesRegex(ValueError, "label must be 0 .* got 7 .*'071_054' frame 3"):
      records.make_example(np.zeros((8, 8, 3), np.uint8), **dict(EXAMPLE, label=7))
    seven = records.make_example(np.zeros((8, 8, 3), np.uint8), **EXAMPLE)
    seven.features.feature["label"].int64_list.value[0] = 7
    with self.assertRaisesRegex(ValueError, r"label must be 0 .*got 7 \(shard "
                                r"train/Deepfakes/c23/00000.tfrecord, record 0\)"):
      self.write_shard("seven_write", [seven])
    self.assertEqual(stray_files(os.path.join(self.tmp, "seven_write")), [])
    self.assertEqual([n for _, _, names in os.walk(os.path.join(
        self.tmp, "seven_write", "d", "train", "Deepfakes")) for n in names], [])
    # A shard rewritten by another tool: its index says label 1, one record says 7.
    root = self.write_shard("seven_read", [records.make_example(
        np.zeros((8, 8, 3), np.uint8), **EXAMPLE)] * 2)
    shard = os.path.join(root, "d", "train/Deepfakes/c23/00000.tfrecord")
    with tf.io.TFRecordWriter(shard) as writer:
      writer.write(records.make_example(np.zeros((8, 8, 3), np.uint8),
                                        **EXAMPLE).SerializeToString())
      writer.write(seven.SerializeToString())
    with self.assertRaisesRegex(tf.errors.InvalidArgumentError,
                                f"TFRecord shard {shard} record 1 \(video 071_054 frame 3\): "
                                "label 7 but the index lists the shard with label 1"):
      list(records.load_split(root, "d", split="train", image_size=8, batch_size=2,
                              balance="oversample"))
    # An index that lists a shard with label 7: refused when read.
    index_path = os.path.join(root, "d", records.INDEX_FILE)
    with open(index_path, encoding="utf-8") as f:
      index = json.load(f)
    index["shards"][0]["label"] = 7
    files.atomic_write_text(index_path, json.dumps(index))
    with self.assertRaisesRegex(ValueError, "label must be 0 .*got 7 .*index.json, shard "
                                "train/Deepfakes"):
      records.load_split(root, "d", split="train", balance="oversample")

  def test_malformed_index(self):
    root = os.path.join(self.tmp, "malformed")
    os.makedirs(os.path.join(root, "d"))
    index = os.path.join(root, "d", records.INDEX_FILE)
    for content, message in (('{"shards": [', "is not valid JSON"),
                             ('[1, 2]', "expected an object with a list 'shards'"),
                             ('{"shards": [{"path": "a"}]}', r"shard entry 0 lacks valid "
                              r"\['split', 'method', 'quality', 'label', 'records'\]"),
                             ('{"shards": ' + "[" * 100000, "is not valid JSON \\(nested "
                              "too deeply\\)")):
      with self.subTest(content=content):
        files.atomic_write_text(index, content)
        with self.assertRaisesRegex(ValueError, f"dataset index {index}.*{message}"):
          records.read_index(root, "d")

  def test_record_whose_bytes_are_no_image(self):
    text = records.make_example(np.zeros((8, 8, 3), np.uint8), **EXAMPLE)
    text.features.feature["image"].bytes_list.value[0] = b"GIF? no, just text"
    good = records.make_example(np.zeros((8, 8, 3), np.uint8), **EXAMPLE)
    root = self.write_shard("not_image", [good, text, good])
    shard = os.path.join(root, "d", "train/Deepfakes/c23/00000.tfrecord")
    kwargs = dict(methods=["Deepfakes"], split="train", image_size=8, batch_size=4,
                  shuffle=False)
    with self.assertRaisesRegex(tf.errors.InvalidArgumentError,
                                f"TFRecord shard {shard} record 1 \(video 071_054 frame 3\):"
                                " its image bytes are no PNG/JPEG/GIF/BMP/WebP image"):
      list(records.load_split(root, "d", **kwargs))
    counter = records.SkipCounter()
    batches = list(records.load_split(root, "d", on_error="skip", skip_counter=counter,
                                      **kwargs))
    self.assertEqual([b[0].shape[0] for b in batches], [2])
    self.assertEqual(counter.count(), 1)

  def test_load_split_arguments_are_checked_up_front(self):
    for name in ("image_size", "batch_size"):
      with self.assertRaisesRegex(ValueError, f"{name} must be an integer >= 1, got 0"):
        records.load_split(self.data_root, utils.DATASET, **{name: 0})
      with self.assertRaisesRegex(ValueError, f"{name} must be an integer >= 1, got 0"):
        records.load_clips(self.data_root, utils.DATASET, **{name: 0})

  # ---- blur ------------------------------------------------------------------------

  def test_image_smaller_than_the_kernel(self):
    with self.assertRaisesRegex(ValueError, "images height 4 is too small .* kernel_size 9"):
      pixel_gaussian_blur(tf.zeros((1, 4, 4, 3)), tf.ones((1, 4, 4, 1)), 9)

  def test_even_and_negative_kernel_size(self):
    for size in (4, -3, 0):
      with self.assertRaisesRegex(ValueError, f"kernel_size must be an odd integer >= 1, "
                                  f"got {size}"):
        pixel_gaussian_blur(tf.zeros((1, 8, 8, 3)), tf.ones((1, 8, 8, 1)), size)

  def test_nan_inverse_variance(self):
    with self.assertRaisesRegex(ValueError, "inv_var contains NaN"):
      pixel_gaussian_blur(tf.zeros((1, 8, 8, 3)), tf.fill((1, 8, 8, 1), np.nan), 3)

  def test_negative_inverse_variance_is_clamped_to_no_blur(self):
    images = tf.random.uniform((1, 8, 8, 3), -1, 1, seed=1)
    self.assertAllClose(pixel_gaussian_blur(images, -tf.ones((1, 8, 8, 1)), 3),
                        pixel_gaussian_blur(images, tf.zeros((1, 8, 8, 1)), 3))

  # ---- evaluation, config, models --------------------------------------------------

  def test_single_class_evaluation_set(self):
    with self.assertRaisesRegex(ValueError, "FS c23: AUC, AP and EER need both classes"):
      metrics.frame_metrics(np.zeros(4), np.linspace(0, 1, 4), name="FS c23")

  def test_nan_scores(self):
    with self.assertRaisesRegex(ValueError, "DF raw: scores contain NaN"):
      metrics.frame_metrics([0, 1], [0.5, np.nan], name="DF raw")

  def test_unknown_method_quality_backbone_mode_strategy(self):
    cases = [({"backbone": "resnet"}, "backbone must be one of .* got 'resnet'"),
             ({"mode": "gan_bat"}, "mode must be one of .* got 'gan_bat'"),
             ({"strategy": "horovod"}, "strategy must be one of .* got 'horovod'")]
    for overrides, message in cases:
      with self.assertRaisesRegex(ValueError, message):
        self.config(**overrides)
    with self.assertRaisesRegex(ValueError, r"method \['NeuralTexture'\] not in dataset"):
      experiment_data.steps_per_epoch(self.config(train_methods=("NeuralTexture",)))
    with self.assertRaisesRegex(ValueError, r"quality \['c50'\] not in dataset"):
      experiment_data.steps_per_epoch(self.config(train_qualities=("c50",)))
    with self.assertRaisesRegex(ValueError, "Unknown backbone 'resnet'"):
      build_detector("resnet", 32)

  def test_multi_worker_without_tf_config(self):
    environ = dict(os.environ)
    os.environ.pop("TF_CONFIG", None)
    try:
      with self.assertRaisesRegex(ValueError, "TF_CONFIG environment variable"):
        experiment.make_strategy("multi_worker")
    finally:
      os.environ.clear()
      os.environ.update(environ)

  def test_weights_of_another_architecture(self):
    path = os.path.join(self.tmp, "small4.weights.h5")
    get_backbone(build_detector("small_cnn", 32, width=4)).save_weights(path)
    with self.assertRaisesRegex(ValueError, "small4.weights.h5 does not fit backbone "
                                "'small_cnn'"):
      experiment.build_training_model(self.config(weights=path), steps=1)

  def test_checkpoint_of_another_architecture_or_size(self):
    path = os.path.join(self.tmp, "big.keras")
    utils.save_tiny_detector(path, image_size=48)
    with self.assertRaisesRegex(ValueError, r"big.keras takes inputs of shape \(48, 48, 3\)"):
      experiment.evaluate_detector(serving.load_detector(path), self.config(), source=path)
    training = experiment.build_training_model(self.config(mode="two_gen_bat",
                                                           generator_width=4,
                                                           generator_blocks=1), steps=1)
    with self.assertRaisesRegex(ValueError, "ckpt.keras is a whole training model"):
      experiment.evaluate_detector(training, self.config(), source="ckpt.keras")

  def test_batch_without_labels(self):
    with self.assertRaisesRegex(ValueError, r"missing \['label'\]"):
      unpack({"image": tf.zeros((1, 8, 8, 3))})

  def test_gray_and_rgba_arrays_are_refused_by_serving(self):
    for channels in (1, 4):
      with self.assertRaisesRegex(ValueError, rf"\(B, H, W, 3\), got \(1, 8, 8, {channels}\)"):
        serving.preprocess(np.zeros((1, 8, 8, channels), np.uint8), (8, 8))

  def test_lambda_layer_model_is_refused(self):
    path = lambda_model(os.path.join(self.tmp, "lambda_lib.keras"))
    with self.assertRaisesRegex(ValueError, "lambda_lib.keras contains a Lambda layer"):
      serving.load_detector(path)

  # ---- videos and dataset layouts --------------------------------------------------

  def test_video_with_no_face_is_counted_not_cropped(self):
    path = os.path.join(self.tmp, "blank.avi")
    write_video(path, [np.full((120, 160, 3), 90, np.uint8)] * 3)
    result = faces.extract_faces(path, faces.make_detector("haar"), num=3, size=32)
    self.assertEqual((result.faces_missed, len(result.crops), result.error), (3, 0, None))

  def test_unreadable_video(self):
    path = os.path.join(self.tmp, "broken.mp4")
    with open(path, "wb") as f:
      f.write(b"not a video")
    result = faces.extract_faces(path, faces.make_detector("haar"), num=3, size=32)
    self.assertRegex(result.error, "cannot read video .*broken.mp4")

  def test_missing_split_file_and_folders(self):
    with self.assertRaisesRegex(ValueError, "Celeb-DF v2: no Celeb-real/.* in .*: expected "
                                "the Celeb-DF v2 layout"):
      datasets.celebdf_videos(self.tmp)
    with self.assertRaisesRegex(ValueError, "no videos in .*youtube/c40/videos"):
      datasets.ffpp_videos(self.tmp, ["c40"])

  def test_unknown_face_detector(self):
    with self.assertRaisesRegex(ValueError, "detector must be one of .* got 'dlib'"):
      faces.make_detector("dlib")


@pytest.mark.slow
@pytest.mark.ci
class BinaryBadInputsTest(tf.test.TestCase):
  """Each binary exits non-zero, names the bad input, and leaves no partial output."""

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.tmp = tempfile.mkdtemp(prefix="bad-binaries-")
    cls.data_root = utils.make_tiny_benchmark(os.path.join(cls.tmp, "data"))
    cls.lambda_path = lambda_model(os.path.join(cls.tmp, "lambda.keras"))

  def assert_fails(self, module, args, message):
    result = utils.run_binary(module, args, check=False)
    self.assertNotEqual(result.returncode, 0, result.stdout[-2000:])
    self.assertRegex(result.stderr, message)
    self.assertEqual(stray_files(self.tmp), [])
    return result

  def test_flag_file_with_a_typo(self):
    flagfile = os.path.join(self.tmp, "typo.flags")
    with open(flagfile, "w", encoding="utf-8") as f:
      f.write("--mode=two_gen_bat\n--generator_widht=4\n")
    out = os.path.join(self.tmp, "typo_run")
    self.assert_fails("tools.train", [f"--flagfile={flagfile}", f"--output_dir={out}"],
                      "generator_widht")
    self.assertFalse(os.path.exists(out))

  def test_train_multi_worker_without_tf_config(self):
    out = os.path.join(self.tmp, "mw_run")
    self.assert_fails("tools.train", [*utils.TINY_FLAGS, "--strategy=multi_worker",
                                      f"--data_root={self.data_root}",
                                      f"--dataset={utils.DATASET}", f"--output_dir={out}"],
                      "TF_CONFIG")
    self.assertFalse(os.path.exists(out))

  def test_evaluate_a_detector_of_another_size(self):
    path = os.path.join(self.tmp, "detector48.keras")
    utils.save_tiny_detector(path, image_size=48)
    out = os.path.join(self.tmp, "eval_out")
    self.assert_fails("tools.evaluate", [
        f"--detectors={path}", f"--data_root={self.data_root}", f"--dataset={utils.DATASET}",
        f"--image_size={utils.IMAGE_SIZE}", "--train_methods=FaceSwap",
        "--test_methods=FaceSwap", "--test_qualities=c23", f"--output_dir={out}"],
                      r"detector48.keras takes inputs of shape \(48, 48, 3\)")
    self.assertFalse(os.path.exists(os.path.join(out, "results.json")))

  def test_export_refuses_a_lambda_layer(self):
    export_dir = os.path.join(self.tmp, "export")
    self.assert_fails("tools.export", [f"--detector={self.lambda_path}",
                                       f"--export_dir={export_dir}"],
                      "lambda.keras contains a Lambda layer .*--unsafe_load")
    self.assertFalse(os.path.exists(export_dir))

  def test_attack_refuses_a_lambda_layer(self):
    out = os.path.join(self.tmp, "attack_out")
    self.assert_fails("tools.attack", [f"--models={self.lambda_path}",
                                       f"--tfrecords={self.tmp}/none-*.tfrecord",
                                       f"--output_dir={out}"],
                      "lambda.keras contains a Lambda layer .*--unsafe_load")
    self.assertFalse(os.path.exists(out))

  def test_detect_on_a_non_image_file(self):
    detector = os.path.join(self.tmp, "detector.keras")
    utils.save_tiny_detector(detector)
    bogus = os.path.join(self.tmp, "notes.png")
    with open(bogus, "w", encoding="utf-8") as f:
      f.write("not an image")
    output = os.path.join(self.tmp, "detect.json")
    self.assert_fails("tools.detect", [f"--detector={detector}", f"--input={bogus}",
                                       f"--output={output}"],
                      "notes.png is not a readable image")
    self.assertFalse(os.path.exists(output))

  def train_args(self, out, *extra, data_root=None):
    return [*utils.TINY_FLAGS, f"--data_root={data_root or self.data_root}",
            f"--dataset={utils.DATASET}", "--train_methods=FaceSwap",
            "--test_methods=FaceSwap", "--test_qualities=c23", f"--output_dir={out}", *extra]

  def assert_one_line(self, result, program):
    last = result.stderr.strip().splitlines()[-1]
    self.assertEqual(result.returncode, 1, result.stderr[-2000:])
    self.assertRegex(last, f"^{program}: error: ")
    self.assertNotIn("Traceback", result.stderr)

  def test_train_refuses_an_index_listing_a_missing_shard_in_seconds(self):
    data_root = os.path.join(self.tmp, "missing_shard")
    utils.make_tiny_benchmark(data_root)
    shard = sorted(glob.glob(os.path.join(data_root, utils.DATASET, "test", "FaceSwap",
                                          "c23", "*.tfrecord")))[0]
    os.remove(shard)
    out = os.path.join(self.tmp, "missing_shard_run")
    start = time.monotonic()
    result = self.assert_fails("tools.train", self.train_args(out, data_root=data_root),
                               f"TFRecord shard {shard} is listed in .*index.json but does "
                               "not exist")
    self.assertLess(time.monotonic() - start, 120)  # it used to wait forever
    self.assert_one_line(result, "train.py")
    self.assertFalse(os.path.exists(out))  # checked before anything is written

  def test_train_refuses_a_folder_of_another_configuration(self):
    out = os.path.join(self.tmp, "other_config_run")
    config = experiment.ExperimentConfig(output_dir=out, mode="baseline")
    with experiment_checkpoints.claim(config, out):
      os.makedirs(os.path.join(out, "checkpoints"))  # a run that started
    with open(os.path.join(out, "config.json"), encoding="utf-8") as f:
      stored = f.read()
    result = self.assert_fails("tools.train", self.train_args(out, "--mode=two_gen_bat"),
                               f"output_dir {out} holds a run with another configuration "
                               r"\(mode: 'baseline' -> 'two_gen_bat', .*--restart")
    self.assert_one_line(result, "train.py")
    with open(os.path.join(out, "config.json"), encoding="utf-8") as f:
      self.assertEqual(f.read(), stored)
    self.assertEqual(sorted(os.listdir(out)), [files.MANIFEST_FILE, ".lock", "checkpoints",
                                               "config.json"])

  def test_train_stops_a_diverged_run_naming_the_step(self):
    out = os.path.join(self.tmp, "diverged_run")
    result = self.assert_fails("tools.train", self.train_args(
        out, "--learning_rate=1e30", "--epochs=2", "--steps_per_epoch=6"),
                               "training diverged: the detector loss is .*nan at training "
                               "step [0-9]+")
    self.assert_one_line(result, "train.py")
    best = os.path.join(out, "best_detector.keras")
    if os.path.exists(best):  # an epoch before the divergence: finite
      self.assertTrue(experiment_checkpoints.finite_weights(serving.load_detector(best)))
    self.assertFalse(os.path.exists(os.path.join(out, "results.json")))

  def test_evaluate_a_missing_extra_dataset_before_any_detector_runs(self):
    detector = os.path.join(self.tmp, "eval_detector.keras")
    utils.save_tiny_detector(detector)
    out = os.path.join(self.tmp, "eval_missing")
    result = self.assert_fails("tools.evaluate", [
        f"--detectors={detector}", f"--data_root={self.data_root}",
        f"--dataset={utils.DATASET}", f"--image_size={utils.IMAGE_SIZE}",
        "--train_methods=FaceSwap", "--test_methods=FaceSwap", "--test_qualities=c23",
        "--extra_test_datasets=celebdf", f"--output_dir={out}"],
                               "no dataset index at .*celebdf/index.json")
    self.assert_one_line(result, "evaluate.py")
    self.assertFalse(os.path.exists(out))

  def test_detect_refuses_a_training_checkpoint_and_zero_frames(self):
    checkpoint = os.path.join(self.tmp, "epoch_001.keras")
    model = DetectorModel(utils.save_tiny_detector(os.path.join(self.tmp, "d1.keras")))
    model.compile()
    model.save(checkpoint)
    face = os.path.join(self.tmp, "face.png")
    cv2.imwrite(face, np.zeros((32, 32, 3), np.uint8))
    result = self.assert_fails("tools.detect", [f"--detector={checkpoint}",
                                                f"--input={face}"],
                               "epoch_001.keras is a whole training model .*expected a "
                               "detector")
    self.assert_one_line(result, "detect.py")
    result = self.assert_fails("tools.detect", [f"--detector={checkpoint}",
                                                f"--input={face}", "--frames=0"],
                               "flag --frames=0: 0 is not a positive integer")

  def test_preprocess_a_folder_that_is_not_ffpp(self):
    out = os.path.join(self.tmp, "records_out")
    self.assert_fails("tools.preprocess", [f"--input={self.tmp}", f"--data_root={out}",
                                           "--dataset=ffpp"],
                      "no videos in .*original_sequences/youtube/c23/videos")
    self.assertFalse(os.path.exists(os.path.join(out, "ffpp", records.INDEX_FILE)))

  # ---- round 3: flags that mean nothing, results that are no results, paths ----------

  def test_detect_flags_that_mean_nothing_are_refused_first(self):
    face = os.path.join(self.tmp, "face3.png")
    cv2.imwrite(face, np.zeros((32, 32, 3), np.uint8))
    missing = os.path.join(self.tmp, "not_loaded.keras")  # refused before loading it
    for flag, message in (
        ("--threshold=nan", "--threshold must be finite, got nan"),
        ("--margin=-1", r"--margin must be >= 1.0 and <= 10.0, got -1.0"),
        ("--crop_faces", "--crop_faces needs a face detector; --face_detector=none")):
      result = self.assert_fails("tools.detect", [f"--detector={missing}", f"--input={face}",
                                                  "--face_detector=none", flag], message)
      self.assert_one_line(result, "detect.py")

  def test_detect_never_reports_nan_as_a_score(self):
    path = os.path.join(self.tmp, "nan_detector.keras")
    detector = utils.save_tiny_detector(path)
    detector.set_weights([np.full_like(w, np.nan) for w in detector.get_weights()])
    detector.save(path)
    face = os.path.join(self.tmp, "face4.png")
    cv2.imwrite(face, np.full((32, 32, 3), 90, np.uint8))
    output = os.path.join(self.tmp, "nan.json")
    result = self.assert_fails("tools.detect", [f"--detector={path}", f"--input={face}",
                                                f"--output={output}"],
                               f"--detector {path}: detector .* gave a non-finite fake "
                               "probability \\(nan\\)")
    self.assert_one_line(result, "detect.py")
    self.assertFalse(os.path.exists(output))

  def test_detect_a_video_without_a_face_says_so(self):
    detector = os.path.join(self.tmp, "detector5.keras")
    utils.save_tiny_detector(detector)
    video = os.path.join(self.tmp, "blank.avi")
    write_video(video, [np.full((64, 64, 3), 128, np.uint8)] * 3)
    result = utils.run_binary("tools.detect", [f"--detector={detector}", f"--input={video}",
                                               "--face_detector=haar", "--frames=3"])
    report = json.loads(result.stdout)["video"]
    self.assertIsNone(report["fake_probability"])
    self.assertIsNone(report["fake"])
    self.assertRegex(result.stderr, "WARNING: .*blank.avi: no face found in the 3 frames "
                     "read; the video has no score")

  def test_train_checks_decay_factor_before_writing(self):
    out = os.path.join(self.tmp, "decay_run")
    result = self.assert_fails("tools.train", self.train_args(out, "--decay_factor=-1"),
                               r"decay_factor must be > 0.0 and <= 1.0, got -1.0")
    self.assert_one_line(result, "train.py")
    self.assertFalse(os.path.exists(out))

  def test_robustness_checks_severities_before_writing(self):
    out = os.path.join(self.tmp, "robustness_out")
    detector = os.path.join(self.tmp, "detector6.keras")
    utils.save_tiny_detector(detector)
    result = self.assert_fails("tools.robustness", [
        *self.train_args(out), f"--detectors={detector}", "--severity=jpeg:150"],
                               r"--severity='jpeg:150': jpeg severity \(JPEG quality\) "
                               "must be >= 0.0 and <= 100, got 150")
    self.assert_one_line(result, "robustness.py")
    self.assertFalse(os.path.exists(out))

  def test_robustness_takes_the_output_lock(self):
    out = os.path.join(self.tmp, "robustness_locked")
    detector = os.path.join(self.tmp, "detector8.keras")
    utils.save_tiny_detector(detector)
    with faults.lock_held_by_another_process(out) as holder:
      result = self.assert_fails("tools.robustness", [
          *self.train_args(out), f"--detectors={detector}", "--corruptions=jpeg",
          "--severity=jpeg:50"], f"output_dir {out} is in use by another run \\(process "
                                 f"{holder.pid}\\)")
    self.assert_one_line(result, "robustness.py")
    self.assertEqual(sorted(os.listdir(out)), [".lock"])

  def test_output_dir_that_is_a_file_and_a_symlinked_lock(self):
    detector = os.path.join(self.tmp, "detector7.keras")
    utils.save_tiny_detector(detector)
    args = [f"--detectors={detector}", f"--data_root={self.data_root}",
            f"--dataset={utils.DATASET}", f"--image_size={utils.IMAGE_SIZE}",
            "--train_methods=FaceSwap", "--test_methods=FaceSwap", "--test_qualities=c23"]
    a_file = os.path.join(self.tmp, "a_file")
    files.atomic_write_text(a_file, "mine")
    result = self.assert_fails("tools.evaluate", [*args, f"--output_dir={a_file}"],
                               "output_dir .*a_file is not a folder")
    self.assert_one_line(result, "evaluate.py")
    out = os.path.join(self.tmp, "linked_lock")
    os.makedirs(out)
    os.symlink(a_file, os.path.join(out, files.LOCK_FILE))
    result = self.assert_fails("tools.evaluate", [*args, f"--output_dir={out}"],
                               "lock file .*linked_lock/.lock is a symbolic link")
    self.assert_one_line(result, "evaluate.py")
    with open(a_file, encoding="utf-8") as f:
      self.assertEqual(f.read(), "mine")  # not truncated, no process id written

  def test_preprocess_dataset_names_stay_under_data_root(self):
    out = os.path.join(self.tmp, "records_root")
    result = self.assert_fails("tools.preprocess", [
        f"--input={self.tmp}", f"--data_root={out}", "--dataset=../escape",
        "--layout=folder"], f"--dataset '../escape' leads outside {out}")
    self.assert_one_line(result, "preprocess.py")
    self.assertFalse(os.path.exists(os.path.join(self.tmp, "escape")))


if __name__ == "__main__":
  tf.test.main()
