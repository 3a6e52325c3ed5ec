"""Tests for dfadv_tf.files: output appears whole or not at all (a full disk included),
with the modes of the umask, and a folder's lock dies with its owner."""

import errno
import os
import signal
import stat

import tensorflow as tf

from dfadv_tf import files
from tests.testing import faults


def mode(path):
  return stat.S_IMODE(os.stat(path).st_mode)


def temporaries(folder):
  return [n for _, dirs, names in os.walk(folder) for n in dirs + names
          if n.startswith(files.TEMP_PREFIX)]


class AtomicWriteTest(tf.test.TestCase):

  def test_text_lands_whole_and_replaces(self):
    path = os.path.join(self.get_temp_dir(), "sub", "table.md")
    files.atomic_write_text(path, "first")
    files.atomic_write_text(path, "second")
    with open(path, encoding="utf-8") as f:
      self.assertEqual(f.read(), "second")
    self.assertEqual(os.listdir(os.path.dirname(path)), ["table.md"])

  def test_failed_write_leaves_the_old_file_and_no_temp(self):
    folder = self.get_temp_dir()
    path = os.path.join(folder, "index.json")
    files.atomic_write_text(path, "old")

    def broken(temp):
      self.assertTrue(temp.endswith("index.json"))  # extension-checking writers work
      with open(temp, "w", encoding="utf-8") as f:
        f.write("half")
      raise RuntimeError("disk full")

    with self.assertRaisesRegex(RuntimeError, "disk full"):
      files.atomic_write(path, broken)
    with open(path, encoding="utf-8") as f:
      self.assertEqual(f.read(), "old")
    self.assertEqual(temporaries(folder), [])

  def test_full_disk_keeps_the_old_file_whole(self):
    with faults.tmpfs(size_kb=64) as disk:  # a real file system that fills up
      path = os.path.join(disk, "epoch_001.keras")
      files.atomic_write_text(path, "old, whole")
      with self.assertRaises(OSError) as raised:
        files.atomic_write_text(path, "x" * 200_000)
      self.assertEqual(raised.exception.errno, errno.ENOSPC)
      with open(path, encoding="utf-8") as f:
        self.assertEqual(f.read(), "old, whole")
      self.assertEqual(temporaries(disk), [])
      with self.assertRaises(OSError):  # a new file does not appear at all
        files.atomic_write_text(os.path.join(disk, "new.json"), "y" * 200_000)
      self.assertEqual(sorted(os.listdir(disk)), ["epoch_001.keras"])

  def test_modes_follow_the_umask(self):
    folder = self.get_temp_dir()
    old = os.umask(0o022)
    try:
      files.atomic_write_text(os.path.join(folder, "a.json"), "{}")
      files.atomic_folder(os.path.join(folder, "saved"), lambda temp: None)
      self.assertEqual(mode(os.path.join(folder, "a.json")), 0o644)
      self.assertEqual(mode(os.path.join(folder, "saved")), 0o755)
      os.umask(0o077)
      self.assertEqual(files.umask(), 0o077)
      files.atomic_write_text(os.path.join(folder, "b.json"), "{}")
      self.assertEqual(mode(os.path.join(folder, "b.json")), 0o600)
    finally:
      os.umask(old)


class StagingTest(tf.test.TestCase):

  def test_publishes_all_or_nothing(self):
    folder = self.get_temp_dir()
    first = os.path.join(folder, "saved")
    os.makedirs(first)
    with open(os.path.join(first, "old"), "w", encoding="utf-8") as f:
      f.write("old export")
    # The second destination is a mount point: moving it aside fails (EBUSY) after the
    # first output was published, which is then rolled back.
    with faults.tmpfs() as second:
      with self.assertRaises(OSError) as raised, files.Staging() as staging:
        os.makedirs(os.path.join(staging.folder(first), "new"))
        files.atomic_write_text(staging.file(second), "new model")
        staging.publish(overwrite=True)
      self.assertEqual(raised.exception.errno, errno.EBUSY)
      self.assertEqual([n for n in os.listdir(os.path.dirname(second))
                        if n.startswith(files.TEMP_PREFIX) and os.path.basename(second) in n],
                       [])
    self.assertEqual(os.listdir(first), ["old"])  # put back
    self.assertEqual(temporaries(folder), [])

  def test_refuses_existing_outputs_before_publishing(self):
    folder = self.get_temp_dir()
    files.atomic_write_text(os.path.join(folder, "a"), "old")
    with self.assertRaisesRegex(FileExistsError, "a exists; pass overwrite"):
      with files.Staging() as staging:
        files.atomic_write_text(staging.file(os.path.join(folder, "b")), "new")
        staging.file(os.path.join(folder, "a"))
        staging.publish()
    self.assertEqual(sorted(os.listdir(folder)), ["a"])

  def test_check_writable(self):
    folder = self.get_temp_dir()
    with self.assertRaisesRegex(NotADirectoryError, "keras_path .*a-file/output.*is a file"):
      files.check_writable(faults.uncreatable(folder), "keras_path")
    with self.assertRaisesRegex(FileExistsError, "output .*a-file exists"):
      files.check_writable(os.path.join(folder, "a-file"), overwrite=False)
    files.check_writable(os.path.join(folder, "new", "deeper", "x.keras"))
    with faults.tmpfs(read_only=True) as read_only:
      with self.assertRaisesRegex(PermissionError, "is not writable"):
        files.check_writable(os.path.join(read_only, "x.keras"), "export_dir")

  def test_remove_temporaries(self):
    folder = self.get_temp_dir()
    for name in (".tmp-1epoch.keras", "workers/.tmp-2", "keep.json"):
      os.makedirs(os.path.dirname(os.path.join(folder, name)), exist_ok=True)
      files.atomic_write_text(os.path.join(folder, name), "")
    os.makedirs(os.path.join(folder, ".tmp-dir-saved"))
    self.assertEqual(files.remove_temporaries(folder, skip=("workers",)), 2)
    self.assertEqual(sorted(temporaries(folder)), [".tmp-2"])


class OutputLockTest(tf.test.TestCase):

  def test_a_second_owner_is_refused_until_the_first_dies(self):
    folder = os.path.join(self.get_temp_dir(), "run")
    with faults.lock_held_by_another_process(folder) as holder:
      with self.assertRaisesRegex(BlockingIOError,
                                  f"run is in use by another run \\(process {holder.pid}"):
        files.OutputLock(folder).acquire()
      holder.send_signal(signal.SIGKILL)  # a crash: the kernel releases the lock
      holder.wait()
      with files.OutputLock(folder):
        with self.assertRaises(BlockingIOError):  # held by this process now
          files.OutputLock(folder).acquire()
    files.OutputLock(folder).acquire().release()

  def test_a_symlinked_lock_is_not_followed(self):
    folder = os.path.join(self.get_temp_dir(), "linked")
    os.makedirs(folder)
    target = os.path.join(self.get_temp_dir(), "precious.txt")
    files.atomic_write_text(target, "precious")
    os.symlink(target, os.path.join(folder, files.LOCK_FILE))
    with self.assertRaisesRegex(OSError, "lock file .*is a symbolic link"):
      files.OutputLock(folder, "output_dir").acquire()
    with open(target, encoding="utf-8") as f:
      self.assertEqual(f.read(), "precious")

  def test_a_file_named_as_the_folder(self):
    path = os.path.join(self.get_temp_dir(), "is-a-file")
    files.atomic_write_text(path, "")
    with self.assertRaisesRegex(NotADirectoryError, "output_dir .*is-a-file: .* is a file, "
                                "not a folder"):
      files.OutputLock(path, "output_dir").acquire()
    with self.assertRaisesRegex(NotADirectoryError, "output_dir .*is-a-file is not a "
                                "folder"):
      files.check_writable(path, "output_dir")


class UnderRootTest(tf.test.TestCase):

  def test_names_stay_under_their_root(self):
    root = os.path.join(self.get_temp_dir(), "root")
    os.makedirs(root, exist_ok=True)
    self.assertEqual(files.under_root(root, "ffpp"),
                     os.path.join(os.path.realpath(root), "ffpp"))
    for name in ("../escape", "/etc", "a/../../b", "."):
      with self.assertRaisesRegex(ValueError, f"--dataset .*leads outside {root}"):
        files.under_root(root, name, "--dataset")
    outside = os.path.join(self.get_temp_dir(), "outside")
    os.makedirs(outside, exist_ok=True)
    os.symlink(outside, os.path.join(root, "out"))
    self.addCleanup(os.remove, os.path.join(root, "out"))
    with self.assertRaisesRegex(ValueError, "leads outside"):
      files.under_root(root, "out/x", "--dataset")


class ManifestTest(tf.test.TestCase):

  def test_clear_removes_only_claimed_names(self):
    folder = os.path.join(self.get_temp_dir(), "m")
    os.makedirs(os.path.join(folder, "logs"))
    manifest = files.Manifest(folder)
    self.assertEqual(manifest.claim(["logs", "tables", "results.json"]),
                     ["tables", "results.json"])
    for name in ("tables", "results.json"):
      files.atomic_write_text(os.path.join(folder, name), "")
    manifest.clear()
    self.assertEqual(os.listdir(folder), ["logs"])
    files.atomic_write_text(os.path.join(folder, "marker"), "")  # an older run's folder
    self.assertEqual(manifest.claim(["logs"], legacy="marker"), ["logs"])
    files.atomic_write_text(manifest.path, '"not an object"')
    with self.assertRaisesRegex(ValueError, "is not this project's manifest"):
      manifest.owned()


if __name__ == "__main__":
  tf.test.main()
