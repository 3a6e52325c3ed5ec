r"""Downloaded datasets or your own labelled folders -> face crops -> TFRecord shards.

  dfadv-preprocess --dataset=ffpp --input=/data/FaceForensics++ --data_root=/data/records \
      --qualities=c23,c40 --workers=8
  dfadv-preprocess --dataset=mine --layout=folder --input=/data/my_faces \
      --data_root=/data/records

--layout says how --input is organised (default: --dataset, when that names a layout):
one of the layouts of dfadv_tf.data.layouts (ffpp for FaceForensics++, folder for your
own real/ and fake/ or fake/<method>/ of videos, images or folders of frames, ...).
A folder without train/ (only test/, say) is evaluation-only: scored by dfadv-evaluate,
as is a folder of real/ and fake/ with --whole_split=test.
--dataset names the records written, `<data_root>/<dataset>/index.json` and its shards
(see dfadv_tf.data.records), the name that `dfadv-train --dataset` reads. Re-running
resumes (complete shards are skipped). Prints a summary: videos done, frames written,
faces missed, failures per video; exits with an error when no video could be processed.
"""

import os

from absl import flags

from dfadv_tf import checks
from dfadv_tf import files
from dfadv_tf.cli import app
from dfadv_tf.data import datasets
from dfadv_tf.data import faces
from dfadv_tf.data import layouts

LAYOUTS = layouts.names()

FLAGS = flags.FLAGS
flags.DEFINE_string("dataset", None, "Name of the records written under --data_root "
                    "(what dfadv-train --dataset reads); also the input layout when it "
                    f"names one of {LAYOUTS} and --layout is not given.", required=True)
flags.DEFINE_enum("layout", None, list(LAYOUTS), "How --input is organised (default: "
                  "--dataset).")
flags.DEFINE_string("input", None, "Root folder of the downloaded dataset (or of your "
                    "labelled folder).", required=True)
flags.DEFINE_string("data_root", None, "Root folder of the datasets' TFRecords "
                    "(<data_root>/<dataset>/index.json).", required=True)
flags.DEFINE_list("qualities", None, "Qualities to read: FF++ / DFD raw, c23, c40 "
                  "(default c23); DeeperForensics variants end_to_end, "
                  "end_to_end_level_<1-5>, ... (default end_to_end).")
flags.DEFINE_list("methods", None, "FF++ fake methods (default: all present).")
flags.DEFINE_bool("masks", True, "FF++: write each fake's manipulation mask "
                  "(manipulated_sequences/<method>/masks/videos) where present.")
flags.DEFINE_list("recompress", None, "Re-encode the videos read (one quality, e.g. "
                  "--qualities=raw) with H.264 as FF++ did and preprocess these: quality "
                  "names c23 (CRF 23), c40 (CRF 40) or c<N>; the source quality's own "
                  "name keeps it (e.g. raw,c23,c40).")
flags.DEFINE_string("recompress_dir", None, "Where re-encoded videos go (default "
                    "<data_root>/<dataset>_videos); reused when present.")
flags.DEFINE_string("real_input", None, "DeeperForensics-1.0: the FF++ download holding "
                    "its real part (original_sequences/youtube/c23/videos).")
flags.DEFINE_integer("frames", 32, "Evenly spaced frames per train/val video.", lower_bound=1)
flags.DEFINE_integer("test_frames", 100, "Frames per test video.", lower_bound=1)
flags.DEFINE_integer("test_every", 0, "Test videos: 0 draws --test_frames at one stride "
                     "spanning the whole video (as the reference's test lists); k > 0 "
                     "every k-th frame from the first (the draw before: the first "
                     "~k * --test_frames frames).", lower_bound=0)
flags.DEFINE_integer("dfd_frames", 10, "DFD: random frames per video.", lower_bound=1)
flags.DEFINE_integer("seed", 0, "Seed of the DFD frame draw and of the splits drawn here.")
flags.DEFINE_list("split_fractions", ["0.7", "0.15", "0.15"], "Train, val, test fractions "
                  "of the groups where a dataset has no split (folder, UADFV; val of "
                  "Celeb-DF, DFDC, ...).")
flags.DEFINE_enum("whole_split", None, ["train", "val", "test"], "folder layout: put "
                  "every item of a folder of real/ and fake/ (not split into train/ val/ "
                  "test/) into this split, e.g. test for a labelled folder that is only "
                  "to be scored (dfadv-evaluate). A folder with test/ (or val/) but no "
                  "train/ is kept as it is, evaluation-only, without this flag.")
flags.DEFINE_string("group_pattern", None, "folder: regular expression whose first group "
                    "(or match) in a file or folder name is its group id, e.g. "
                    "'^(.+)_\\d+$' for clip7_0001.png (default: the name itself).")
flags.DEFINE_enum("face_detector", None, list(faces.DETECTORS), "Face detector: mtcnn "
                  "(default), haar, or none (the images are face crops; the default for "
                  f"{layouts.face_crop_layouts()}).")
flags.DEFINE_float("min_face_confidence", 0.9, "MTCNN: keep faces at least this "
                   "confident.")
flags.DEFINE_integer("detect_max_side", 960, "MTCNN: detect on frames scaled down to this "
                     "larger side in pixels (0: full size).", lower_bound=0)
flags.DEFINE_integer("face_batch", 8, "Frames per face-detector call.", lower_bound=1)
flags.DEFINE_bool("align", False, "Align faces by MTCNN's 5 landmarks (similarity "
                  "transform onto the ArcFace template) instead of a square box crop.")
flags.DEFINE_float("margin", 1.3, "Square crop side / larger face-box side.")
flags.DEFINE_integer("image_size", 256, "Side of the stored face crops in pixels.", lower_bound=1)
flags.DEFINE_enum("image_format", "png", ["png", "jpeg"], "Encoding of the crops.")
flags.DEFINE_integer("workers", 1, "Parallel worker processes (over videos).", lower_bound=1)
flags.DEFINE_integer("videos_per_shard", 32, "Videos per TFRecord shard.", lower_bound=1)
flags.DEFINE_bool("restart", False, "Rebuild --dataset when it was built from other "
                  "inputs or options (without it such a re-run is refused, naming what "
                  "changed); the old records stay until the new ones replace them whole.")


def layout_of(dataset, layout):
  """The input layout: `layout`, or `dataset` when that names one."""
  if layout:
    return layout
  if dataset in LAYOUTS:
    return dataset
  raise ValueError(f"--dataset={dataset!r} names no input layout; pass --layout, one of "
                   f"{LAYOUTS}.")


def splitting():
  try:
    fractions = tuple(float(f) for f in FLAGS.split_fractions)
  except ValueError as error:
    raise ValueError(f"--split_fractions={','.join(FLAGS.split_fractions)}: expected 3 "
                     "numbers (train,val,test)") from error
  return datasets.Splitting(fractions, FLAGS.seed, FLAGS.group_pattern)


def list_videos(layout):
  """The `datasets.Video`s of --input in `layout` (`layouts.get(layout).videos`)."""
  if FLAGS.whole_split and layout != "folder":
    raise ValueError(f"--whole_split applies to --layout=folder only, not {layout!r}.")
  return layouts.get(layout).videos(layouts.Options(
      FLAGS.input, qualities=FLAGS.qualities, methods=FLAGS.methods, masks=FLAGS.masks,
      sampling=datasets.Sampling(FLAGS.frames, FLAGS.test_frames, FLAGS.test_every),
      splitting=splitting(), dfd_frames=FLAGS.dfd_frames, seed=FLAGS.seed,
      real_input=FLAGS.real_input, whole_split=FLAGS.whole_split))


def validate_flags():
  """Every flag checked before anything is read or written."""
  layout = layout_of(FLAGS.dataset, FLAGS.layout)
  files.under_root(FLAGS.data_root, FLAGS.dataset, "--dataset")
  files.check_writable(FLAGS.data_root, "--data_root", folder=True)
  detector = FLAGS.face_detector or (
      "none" if layout in layouts.face_crop_layouts() else "mtcnn")
  checks.face_crop_flags(FLAGS.margin, FLAGS.min_face_confidence, detector, FLAGS.align)
  splitting()
  if not os.path.isdir(FLAGS.input):
    raise OSError(f"--input {FLAGS.input} is not a folder.")


def main(argv):
  del argv
  layout = layout_of(FLAGS.dataset, FLAGS.layout)
  detector = FLAGS.face_detector or (
      "none" if layout in layouts.face_crop_layouts() else "mtcnn")
  options = datasets.FaceOptions(detector, FLAGS.min_face_confidence,
                                 FLAGS.detect_max_side, FLAGS.margin, FLAGS.image_size,
                                 FLAGS.align, FLAGS.face_batch)
  videos = list_videos(layout)
  if FLAGS.recompress:
    folder = FLAGS.recompress_dir or os.path.join(FLAGS.data_root,
                                                  f"{FLAGS.dataset}_videos")
    videos = datasets.recompressed(videos, folder, FLAGS.recompress)
  summary = datasets.preprocess(
      videos, FLAGS.data_root, FLAGS.dataset, options, workers=FLAGS.workers,
      image_format=FLAGS.image_format, videos_per_shard=FLAGS.videos_per_shard,
      restart=FLAGS.restart)
  print(summary)
  if summary.videos_done == 0 and summary.videos_resumed == 0:
    first = (f"; first: {summary.failures[0][0]}: {summary.failures[0][1]}"
             if summary.failures else "")
    raise OSError(f"no video of {FLAGS.input} ({layout} layout) could be processed: "
                  f"{len(summary.failures)} of {len(videos)} failed{first}")


def run():
  app.run(main, validate_flags)


if __name__ == "__main__":
  run()
