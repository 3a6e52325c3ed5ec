"""Tests for dfadv_tf.data.records: schema, atomic sharded writer, load_split."""

import json
import os

import numpy as np
import tensorflow as tf

from dfadv_tf.data import faces
from dfadv_tf.data import records

SIZE = 8


def _image(seed, size=SIZE):
  return np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)


def _examples(dataset, method, quality, split, label, count, seed=0, video="v"):
  return [records.make_example(_image(seed + i), label=label, dataset=dataset,
                               method=method, quality=quality, split=split,
                               video_id=f"{video}{i % 3}", frame_index=i)
          for i in range(count)]


class RecordsTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.root = self.get_temp_dir()

  def _write(self, dataset, layout):
    """layout: [(split, method, quality, label, count)] -> one shard each."""
    writer = records.ShardedWriter(self.root, dataset)
    for i, (split, method, quality, label, count) in enumerate(layout):
      writer.write(split, method, quality, f"{i:05d}",
                   _examples(dataset, method, quality, split, label, count, seed=100 * i))
    return writer

  def test_round_trip_of_every_field(self):
    image, mask = _image(1, 12), (_image(2, 12)[..., 0] > 128).astype(np.uint8) * 255
    example = records.make_example(image, label=1, dataset="ds", method="Deepfakes",
                                   quality="c23", split="val", video_id="071_054",
                                   frame_index=42, mask=mask)
    writer = records.ShardedWriter(self.root, "ds")
    writer.write("val", "Deepfakes", "c23", "00000", [example])
    path = os.path.join(self.root, "ds", "val/Deepfakes/c23/00000.tfrecord")
    parsed = records.parse_example(next(iter(tf.data.TFRecordDataset(path))))
    self.assertAllEqual(tf.io.decode_png(parsed["image"]), image)
    self.assertAllEqual(tf.io.decode_png(parsed["mask"])[..., 0], mask)
    got = {k: parsed[k].numpy() for k in ("label", "dataset", "method", "quality", "split",
                                          "video_id", "frame_index", "height", "width")}
    self.assertEqual(got, {"label": 1, "dataset": b"ds", "method": b"Deepfakes",
                           "quality": b"c23", "split": b"val", "video_id": b"071_054",
                           "frame_index": 42, "height": 12, "width": 12})
    element = next(iter(records.load_split(self.root, "ds", split="val", image_size=12,
                                           batch_size=1, with_metadata=True)))
    self.assertAllClose(element["image"][0], image / 127.5 - 1.0, atol=1e-5)
    self.assertEqual(element["label"].dtype, tf.int32)
    self.assertEqual(element["video_id"][0].numpy(), b"071_054")
    self.assertEqual(element["frame_index"][0].numpy(), 42)

  def test_index_counts_and_output_spec(self):
    self._write("ds", [("train", "youtube", "raw", 0, 5), ("train", "Deepfakes", "raw", 1, 7),
                       ("test", "Deepfakes", "c40", 1, 3)])
    index = records.read_index(self.root, "ds")
    self.assertEqual(index["records"], 15)
    self.assertEqual(index["counts"], {
        "method": {"Deepfakes": 10, "youtube": 5}, "quality": {"c40": 3, "raw": 12},
        "split": {"test": 3, "train": 12}, "label": {"0": 5, "1": 10}})
    images, labels = next(iter(records.load_split(self.root, "ds", image_size=6,
                                                  batch_size=4)))
    self.assertEqual(images.shape, (4, 6, 6, 3))
    self.assertEqual(images.dtype, tf.float32)
    self.assertBetween(float(tf.reduce_min(images)), -1.0, 1.0)
    self.assertBetween(float(tf.reduce_max(images)), -1.0, 1.0)
    self.assertEqual(labels.shape, (4,))

  def test_selection_by_method_quality_split(self):
    self._write("ds", [("train", "youtube", "raw", 0, 2), ("train", "Deepfakes", "raw", 1, 3),
                       ("train", "Deepfakes", "c40", 1, 4), ("train", "FaceSwap", "raw", 1, 5),
                       ("test", "Deepfakes", "raw", 1, 6)])

    def read(**kwargs):
      data = records.load_split(self.root, "ds", image_size=4, batch_size=100,
                                with_metadata=True, shuffle=False, **kwargs)
      return [(m.decode(), q.decode()) for e in data
              for m, q in zip(e["method"].numpy(), e["quality"].numpy())]

    self.assertCountEqual(read(methods=["Deepfakes"], qualities=["raw"]),
                          [("Deepfakes", "raw")] * 3)
    self.assertLen(read(qualities=["raw"]), 10)
    self.assertLen(read(methods=["Deepfakes"]), 7)
    self.assertCountEqual(read(split="test"), [("Deepfakes", "raw")] * 6)
    with self.assertRaisesRegex(ValueError, r"'NeuralTextures'.*has methods \['Deepfakes', "
                                r"'FaceSwap', 'youtube'\]"):
      read(methods=["NeuralTextures"])
    with self.assertRaisesRegex(ValueError, r"\['c23'\].*has qualitys \['c40', 'raw'\]"):
      read(qualities=["c23"])
    with self.assertRaisesRegex(ValueError, "has splits"):
      read(split="val")

  def test_half_written_shard_is_not_in_index_and_resume_rewrites_it(self):
    writer = self._write("ds", [("train", "youtube", "raw", 0, 2)])

    def interrupted():
      yield from _examples("ds", "Deepfakes", "raw", "train", 1, 2)
      raise KeyboardInterrupt

    with self.assertRaises(KeyboardInterrupt):
      writer.write("train", "Deepfakes", "raw", "00001", interrupted())
    folder = os.path.join(self.root, "ds")
    with open(os.path.join(folder, records.INDEX_FILE), encoding="utf-8") as f:
      self.assertEqual([s["path"] for s in json.load(f)["shards"]],
                       ["train/youtube/raw/00000.tfrecord"])
    self.assertEqual(os.listdir(os.path.join(folder, "train/Deepfakes/raw")), [])
    resumed = records.ShardedWriter(self.root, "ds")
    self.assertTrue(resumed.is_complete("train", "youtube", "raw", "00000"))
    self.assertFalse(resumed.is_complete("train", "Deepfakes", "raw", "00001"))
    resumed.write("train", "Deepfakes", "raw", "00001",
                  _examples("ds", "Deepfakes", "raw", "train", 1, 2))
    self.assertEqual(records.read_index(self.root, "ds")["records"], 4)

  def test_writer_rejects_a_record_of_another_shard(self):
    writer = records.ShardedWriter(self.root, "ds")
    with self.assertRaisesRegex(ValueError, "does not match the shard"):
      writer.write("train", "youtube", "raw", "00000",
                   _examples("ds", "Deepfakes", "raw", "train", 1, 1))

  def _corrupt_one_shard(self):
    self._write("ds", [("train", "youtube", "raw", 0, 4), ("train", "Deepfakes", "raw", 1, 4)])
    path = os.path.join(self.root, "ds", "train/Deepfakes/raw/00001.tfrecord")
    data = bytearray(open(path, "rb").read())
    data[len(data) // 2] ^= 0xFF
    with open(path, "wb") as f:
      f.write(bytes(data))
    return path

  def test_corrupted_record_raises_naming_the_file(self):
    path = self._corrupt_one_shard()
    with self.assertRaisesRegex(tf.errors.InvalidArgumentError, f"corrupted.*{path}"):
      for _ in records.load_split(self.root, "ds", image_size=4, batch_size=2):
        pass

  def test_corrupted_record_skipped_and_counted(self):
    self._corrupt_one_shard()
    counter = records.SkipCounter()
    data = records.load_split(self.root, "ds", image_size=4, batch_size=2, on_error="skip",
                              skip_counter=counter)
    read = sum(int(labels.shape[0]) for _, labels in data)
    self.assertGreaterEqual(read, 4)
    self.assertEqual(read + counter.count(), 8)
    self.assertGreater(counter.count(), 0)

  def test_oversample_balances_real_and_fake(self):
    self._write("ds", [("train", "youtube", "raw", 0, 25)]
                + [("train", m, "raw", 1, 25)
                   for m in ("Deepfakes", "Face2Face", "FaceSwap", "NeuralTextures")])
    data = records.load_split(self.root, "ds", image_size=2, batch_size=100, seed=3,
                              balance="oversample", repeat=True, shuffle_buffer=64)
    labels = np.concatenate([l.numpy() for _, l in data.take(10)])
    self.assertLen(labels, 1000)
    self.assertBetween(labels.mean(), 0.45, 0.55)
    one_pass = records.load_split(self.root, "ds", image_size=2, batch_size=1000,
                                  balance="oversample", seed=3)
    self.assertLen(np.concatenate([l.numpy() for _, l in one_pass]), 200)

  def test_halves_alternate_real_and_fake_in_every_batch(self):
    self._write("ds", [("train", "youtube", "raw", 0, 5), ("train", "Deepfakes", "raw", 1, 9),
                       ("train", "FaceSwap", "raw", 1, 8)])

    def batches(seed, **kwargs):
      data = records.load_split(self.root, "ds", image_size=2, batch_size=6, seed=seed,
                                balance="halves", shuffle_buffer=8, with_metadata=True,
                                **kwargs)
      return [(b["label"].numpy(), [(m, int(f)) for m, f in zip(b["method"].numpy(),
                                                                 b["frame_index"].numpy())])
              for b in data]

    one_pass = batches(3)
    labels = np.concatenate([l for l, _ in one_pass])
    self.assertLen(labels, 2 * 17)  # the majority class once, the minority repeated
    for batch_labels, _ in one_pass:  # the last one is short but even
      self.assertAllEqual(batch_labels, np.arange(len(batch_labels)) % 2)
    self.assertLen({v for _, ids in one_pass for v in ids[1::2]}, 17)
    self.assertEqual([ids for _, ids in batches(3)], [ids for _, ids in one_pass])
    self.assertNotEqual([ids for _, ids in batches(4)], [ids for _, ids in one_pass])
    endless = records.load_split(self.root, "ds", image_size=2, batch_size=6, seed=3,
                                 balance="halves", repeat=True, drop_remainder=True)
    for _, batch_labels in endless.take(8):
      self.assertAllEqual(batch_labels, [0, 1, 0, 1, 0, 1])
    with self.assertRaisesRegex(ValueError, "even batch_size.*batch_size=5"):
      records.load_split(self.root, "ds", batch_size=5, balance="halves")

  def test_deterministic_given_seed(self):
    self._write("ds", [("train", m, "raw", int(m != "youtube"), 20)
                       for m in ("youtube", "Deepfakes", "FaceSwap")])

    def batches(seed):
      data = records.load_split(self.root, "ds", image_size=4, batch_size=8, seed=seed,
                                balance="oversample", augment=lambda x: -x,
                                shuffle_buffer=16)
      return [b.numpy() for b, _ in data]

    first = batches(7)
    self.assertAllClose(first, batches(7))
    self.assertNotAllClose(first, batches(8))

  def test_bad_arguments(self):
    self._write("ds", [("train", "youtube", "raw", 0, 1)])
    with self.assertRaisesRegex(ValueError, "balance must be"):
      records.load_split(self.root, "ds", balance="undersample")
    with self.assertRaisesRegex(ValueError, "needs real and fake.*'fake'"):
      records.load_split(self.root, "ds", balance="oversample")
    with self.assertRaisesRegex(ValueError, "list of strings"):
      records.load_split(self.root, "ds", methods="youtube")
    with self.assertRaisesRegex(FileNotFoundError, "no dataset index"):
      records.load_split(self.root, "other")
    with self.assertRaisesRegex(ValueError, "label must be"):
      records.make_example(_image(0), label=2, dataset="d", method="m", quality="q",
                           split="train", video_id="v", frame_index=0)



class MasksAndClipsTest(tf.test.TestCase):
  """`load_split(with_mask=True)` and `load_clips`."""

  def setUp(self):
    super().setUp()
    self.root = self.get_temp_dir()

  def test_with_mask_yields_mask_zeros_for_real_and_minus_one_for_unknown(self):
    mask = np.zeros((SIZE, SIZE), np.uint8)
    mask[:4] = 255
    writer = records.ShardedWriter(self.root, "ds")
    common = dict(dataset="ds", quality="c23", split="train", frame_index=0)
    writer.write("train", "Deepfakes", "c23", "00000", [
        records.make_example(_image(0), label=1, method="Deepfakes", video_id="a",
                             mask=mask, **common),
        records.make_example(_image(1), label=1, method="Deepfakes", video_id="b",
                             **common)])
    writer.write("train", "youtube", "c23", "00001", [
        records.make_example(_image(2), label=0, method="youtube", video_id="c", **common)])
    batch = next(iter(records.load_split(self.root, "ds", split="train", image_size=SIZE,
                                         batch_size=3, shuffle=False, with_mask=True)))
    self.assertEqual(sorted(batch), ["image", "label", "mask"])
    by_video = {}
    for i, label in enumerate(batch["label"].numpy()):
      by_video.setdefault(label, []).append(batch["mask"][i].numpy())
    self.assertEqual(batch["mask"].shape, (3, SIZE, SIZE, 1))
    self.assertAllEqual(by_video[0][0], np.zeros((SIZE, SIZE, 1)))
    fakes = sorted(by_video[1], key=lambda m: m.min())
    self.assertAllEqual(fakes[0], -np.ones((SIZE, SIZE, 1)))
    self.assertAllClose(fakes[1][:, :, 0], mask / 255.0)

  def _write_videos(self):
    """Two real and two fake videos of 6 frames each (frames written in reverse)."""
    writer = records.ShardedWriter(self.root, "ds")
    for label, method in ((0, "youtube"), (1, "Deepfakes")):
      examples = [records.make_example(
          np.full((SIZE, SIZE, 3), 10 * f + 100 * label, np.uint8), label=label, dataset="ds",
          method=method, quality="c23", split="test", video_id=f"{method}{v}",
          frame_index=f) for v in range(2) for f in reversed(range(6))]
      writer.write("test", method, "c23", "00000", examples)

  def test_clips_one_per_video_middle_frame_of_each_segment(self):
    self._write_videos()
    elements = list(records.load_clips(self.root, "ds", split="test", image_size=SIZE,
                                       batch_size=8, segments=3, shuffle=False,
                                       with_metadata=True))
    self.assertLen(elements, 1)
    clips = elements[0]
    self.assertEqual(clips["image"].shape, (4, 3, SIZE, SIZE, 3))
    self.assertLen(set(clips["video_id"].numpy()), 4)
    pixels = np.round((clips["image"][:, :, 0, 0, 0].numpy() + 1) * 127.5)
    for row, label in zip(pixels, clips["label"].numpy()):
      self.assertAllClose(row, [10 * f + 100 * label for f in (1, 3, 5)])

  def test_training_clips_random_frame_inside_each_segment(self):
    self._write_videos()
    clips, labels = next(iter(records.load_clips(
        self.root, "ds", split="test", image_size=SIZE, batch_size=6, segments=2,
        balance="oversample", seed=0, repeat=True)))
    self.assertEqual(clips.shape, (6, 2, SIZE, SIZE, 3))
    _, halves = next(iter(records.load_clips(
        self.root, "ds", split="test", image_size=SIZE, batch_size=6, segments=2,
        balance="halves", seed=0, repeat=True)))
    self.assertAllEqual(halves, [0, 1, 0, 1, 0, 1])
    frames = np.round((clips[:, :, 0, 0, 0].numpy() + 1) * 127.5) - 100 * labels.numpy()[:,
                                                                                        None]
    self.assertTrue(np.all(frames[:, 0] <= 20) and np.all(frames[:, 1] >= 30))

  def test_clip_arguments(self):
    self._write_videos()
    with self.assertRaisesRegex(ValueError, "segments must be an integer >= 1"):
      records.load_clips(self.root, "ds", split="test", segments=0)


class FaceFeaturesAndMaskCountsTest(tf.test.TestCase):

  def test_face_features_round_trip_and_old_records_read(self):
    face = faces.Face((10, 20, 30, 40), 0.97, ((1, 2), (3, 4), (5, 6), (7, 8), (9, 10)))
    common = dict(label=1, dataset="ds", method="m", quality="q", split="train",
                  video_id="v", frame_index=0)
    new = records.make_example(_image(0), face=face, mask=np.zeros((SIZE, SIZE), np.uint8),
                               **common)
    parsed = records.parse_example(new.SerializeToString())
    self.assertAllEqual(parsed["face_box"], [10, 20, 30, 40])
    self.assertAllClose(parsed["face_confidence"], 0.97)
    self.assertAllClose(parsed["face_landmarks"], np.arange(1, 11))
    no_landmarks = records.parse_example(records.make_example(
        _image(0), face=faces.Face((1, 2, 3, 4)), **common).SerializeToString())
    self.assertAllClose(no_landmarks["face_landmarks"], [-1.0] * 10)
    self.assertAllClose(no_landmarks["face_confidence"], -1.0)
    old = records.make_example(_image(0), **common)  # as written before the face features
    for name in ("face_box", "face_confidence", "face_landmarks"):
      old.features.feature.pop(name, None)
    parsed = records.parse_example(old.SerializeToString())
    self.assertAllEqual(parsed["face_box"], [0, 0, 0, 0])
    self.assertAllClose(parsed["face_confidence"], -1.0)
    with self.assertRaisesRegex(ValueError, "expected a box"):
      records.make_example(_image(0), face=faces.Face((1, 2, 3)), **common)
    root = self.get_temp_dir()
    entry = records.ShardedWriter(root, "ds").write("train", "m", "q", "00000",
                                                    [new, old, new])
    self.assertEqual((entry["records"], entry["masks"]), (3, 2))
    self.assertEqual(records.read_index(root, "ds")["shards"][0]["masks"], 2)


class FramesPerVideoTest(tf.test.TestCase):
  """`load_split(frames_per_video=k)`: k random frames of every video per pass."""

  FRAMES = {"youtube": (3, 5), "FaceSwap": (6, 2, 9)}  # frames of each video

  def setUp(self):
    super().setUp()
    self.root = self.get_temp_dir()
    writer = records.ShardedWriter(self.root, "videos")
    for label, (method, frames) in enumerate(self.FRAMES.items()):
      writer.write("train", method, "c23", "00000", [
          records.make_example(_image(v * 10 + f), label=label, dataset="videos",
                               method=method, quality="c23", split="train",
                               video_id=f"{method}_{v}", frame_index=f)
          for v, count in enumerate(frames) for f in range(count)])

  def draws(self, passes=1, **kwargs):
    data = records.load_split(self.root, "videos", split="train", image_size=SIZE,
                              batch_size=1000, with_metadata=True, seed=4, **kwargs)
    if passes > 1:  # one batch per pass: every video once
      data = data.unbatch().batch(sum(map(len, self.FRAMES.values()))).take(passes)
    return [sorted(zip(e["video_id"].numpy().astype(str), e["frame_index"].numpy()))
            for e in data]

  def test_each_pass_draws_k_frames_of_every_video(self):
    (one_pass,) = self.draws(frames_per_video=2)
    videos = [v for v, _ in one_pass]
    self.assertEqual(sorted(set(videos)), ["FaceSwap_0", "FaceSwap_1", "FaceSwap_2",
                                           "youtube_0", "youtube_1"])
    self.assertTrue(all(videos.count(v) == 2 for v in set(videos)))
    self.assertLen(set(one_pass), len(one_pass))  # no frame twice in a pass
    self.assertEqual(self.draws(frames_per_video=2), [one_pass])  # seeded
    (single,) = self.draws(frames_per_video=1)
    self.assertLen(single, 5)
    (all_frames,) = self.draws(frames_per_video=100)
    self.assertLen(all_frames, 25)

  def test_passes_draw_other_frames_uniformly(self):
    counts = np.zeros(9)
    passes = self.draws(passes=300, frames_per_video=1, repeat=True, shuffle=False)
    self.assertLen(passes, 300)
    for drawn in passes:
      frames = dict(drawn)
      self.assertLen(frames, 5)  # every video once per pass
      counts[frames["FaceSwap_2"]] += 1
    self.assertGreater(counts.min(), 300 / 9 / 2)  # every frame drawn, about evenly
    self.assertLess(counts.max(), 300 / 9 * 2)

  def test_balance_repeats_the_real_videos(self):
    data = records.load_split(self.root, "videos", split="train", image_size=SIZE,
                              batch_size=600, balance="oversample", seed=1,
                              with_metadata=True, frames_per_video=1, repeat=True)
    batch = next(iter(data))
    self.assertBetween(float(np.mean(batch["label"].numpy())), 0.4, 0.6)
    videos = batch["video_id"].numpy().astype(str)
    real = [v for v in videos if v.startswith("youtube")]
    self.assertBetween(real.count("youtube_0") / len(real), 0.4, 0.6)  # per video, not
    with self.assertRaisesRegex(ValueError, "frames_per_video must be an integer >= 1"):
      records.load_split(self.root, "videos", frames_per_video=0)


if __name__ == "__main__":
  tf.test.main()
