"""The dtype policy a run uses: `resolve_policy`, with "auto" chosen from the processor.

"auto" is mixed_bfloat16 on a CPU-only machine whose processor multiplies bfloat16
matrices in hardware (the `/proc/cpuinfo` flags `amx_bf16`, Intel AMX, or `avx512_bf16`,
AVX-512 BF16), where oneDNN runs the convolutions and matrix products of a step several
times faster than in float32 (docs/performance.md), and float32 elsewhere: on other
CPUs bfloat16 is emulated (slower than float32), and on a GPU the choice between
mixed_float16 and mixed_bfloat16 is the user's. Any other policy name is taken as given.
"""

import tensorflow as tf

BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")
CPUINFO = "/proc/cpuinfo"


def cpu_flags(cpuinfo=None):
  """The set of CPU feature flags in `cpuinfo` (the text of /proc/cpuinfo; default: read
  it; an empty set where it cannot be read, e.g. not Linux)."""
  if cpuinfo is None:
    try:
      with open(CPUINFO, encoding="utf-8", errors="replace") as f:
        cpuinfo = f.read()
    except OSError:
      return set()
  flags = set()
  for line in cpuinfo.splitlines():
    key, _, value = line.partition(":")
    if key.strip() in ("flags", "Features"):
      flags.update(value.split())
  return flags


def resolve_policy(policy, cpuinfo=None, gpus=None):
  """(Keras dtype policy name, why) for the configured `policy`.

  Args:
    policy: "auto", or a Keras policy name (float32, mixed_bfloat16, mixed_float16),
      returned as is.
    cpuinfo: the text of /proc/cpuinfo (default: read it).
    gpus: whether a GPU is visible (default: `tf.config.list_physical_devices`).
  """
  if policy != "auto":
    return policy, "set by --mixed_precision"
  if gpus is None:
    gpus = bool(tf.config.list_physical_devices("GPU"))
  if gpus:
    return "float32", ("auto: a GPU is visible (choose mixed_float16 or mixed_bfloat16 "
                       "with --mixed_precision)")
  found = sorted(set(BF16_CPU_FLAGS) & cpu_flags(cpuinfo))
  if found:
    return "mixed_bfloat16", f"auto: the CPU has bfloat16 matrix units ({', '.join(found)})"
  return "float32", (f"auto: the CPU has none of the bfloat16 flags "
                     f"{', '.join(BF16_CPU_FLAGS)} (bfloat16 would be emulated)")
