"""The adversary registry: one name per input-gradient adversary, used everywhere.

Every adversary of `dfadv_tf.attacks` registers here under one name, which is also the
prefix of its flags and config fields (`fgsm` -> `--fgsm_eps_levels`), the attack name of
`dfadv-attack --attacks=...`, and the `attack=` of `GradientATModel`; `mode` is the
training mode that trains against it (`dfadv-train --mode=...`, registered in
`dfadv_tf.experiment.modes` from this registry) and `paper_name` its row in the paper's
tables. The registry is a `dfadv_tf.registry.Registry`, as the modes' and layouts' are.

Every registered function has one signature and one return shape:

    adversary.attack(model, images, labels, *, seed=None, training=False,
                     num_classes=2, loss_reduction="class_mean", **params)
        -> Adversarial(images, inv_var, flow)

with images (B, H, W, C) float in [-1, 1], labels (B,) int (0 real, 1 fake for a
detector), `params` the adversary's `Param`s (defaults below), `seed` None, an int or a
`keras.random.SeedGenerator` (for adversaries that draw random numbers),
`loss_reduction` how the per-example losses are summed (`common.reduce_losses`:
"class_mean" in training, the reference's; "sum" in `crafters`, so that an image's
adversarial example does not depend on its batch), and the result's
`inv_var` (blur adversaries) and `flow` (spatial adversaries) None where the adversary
has none. Everything runs inside `tf.function` and returns `tf.stop_gradient`-ed tensors.

Adding an adversary: one module in `dfadv_tf/attacks/` with its function and a
`@register(...)` adapter, one import line in `dfadv_tf/attacks/__init__.py`, one test.
The experiment's mode, config fields, flags and the attack tool then pick it up.
"""

import dataclasses
import typing

from absl import logging
import tensorflow as tf

from dfadv_tf.registry import Registry


class Adversarial(typing.NamedTuple):
  """What every registered adversary returns.

  images: adversarial images, shape and dtype of the input, without gradient.
  inv_var: the blur's inverse variance 1/sigma^2 (B, H, W, 1 or C) float32, or None.
  flow: the spatial flow (B, H, W, 2) float32 in pixels, or None.
  """
  images: tf.Tensor
  inv_var: typing.Optional[tf.Tensor] = None
  flow: typing.Optional[tf.Tensor] = None


@dataclasses.dataclass(frozen=True)
class Param:
  """One parameter of an adversary.

  name: the keyword of the adversary's function.
  default: its default (the paper's or the reference code's value).
  help: what it is, with its unit.
  flag: the flag / `ExperimentConfig` field that sets it; default `<adversary>_<name>`.
    Parameters that several parts share (the blur's `kernel_size`) name one flag.
  choices: the allowed values of a string parameter, or None.
  """
  name: str
  default: typing.Any
  help: str
  flag: typing.Optional[str] = None
  choices: typing.Optional[tuple] = None


@dataclasses.dataclass(frozen=True)
class Adversary:
  """A registered adversary: see the module doc. `params` are `Param`s, `flags` maps
  each flag name to its parameter name; `in_paper` whether its mode is one of the
  paper's rows; `renamed` {old parameter name: (its new name, old value -> new unit)},
  accepted for one release with a warning (e.g. a `.keras` file saved before)."""
  name: str
  mode: str
  paper_name: str
  attack: typing.Callable
  params: tuple
  doc: str = ""
  in_paper: bool = True
  renamed: typing.Mapping = dataclasses.field(default_factory=dict)

  @property
  def flags(self):
    return {param.flag: param.name for param in self.params}

  def defaults(self):
    """{parameter name: default}."""
    return {param.name: param.default for param in self.params}

  def check_params(self, params, source="attack_kwargs"):
    """ValueError naming `source` for a keyword that is no parameter of this adversary,
    or a string parameter outside its choices."""
    known = {param.name: param for param in self.params}
    params = dict(params)
    for old in sorted(set(params) & set(self.renamed)):
      new, convert = self.renamed[old]
      if new in params:
        raise ValueError(f"{source}: {self.name} {old!r} (deprecated) and {new!r} set the "
                         f"same thing: keep {new!r}.")
      params[new] = convert(params.pop(old))
      logging.warning("%s: %s %r is deprecated and goes in the next release: use %s=%g.",
                      source, self.name, old, new, params[new])
    unknown = sorted(set(params) - set(known))
    if unknown:
      raise ValueError(f"{source}: {unknown} are not parameters of adversary "
                       f"{self.name!r}; expected some of {sorted(known)}.")
    for key, value in params.items():
      choices = known[key].choices
      if choices is not None and value not in choices:
        raise ValueError(f"{source}: {self.name} {key} must be one of {choices}, got "
                         f"{value!r}.")
    return dict(params)

  def params_from(self, values):
    """{parameter name: value} read from a mapping or object keyed by flag names
    (e.g. an `ExperimentConfig` or parsed flags); missing flags keep the default."""
    get = values.get if isinstance(values, dict) else (
        lambda key, default: getattr(values, key, default))
    return {param.name: get(param.flag, param.default) for param in self.params}


_REGISTRY = Registry("adversary")
ADVERSARIES = _REGISTRY.entries  # name -> Adversary, read-only


def register(name, *, mode, paper_name, params=(), in_paper=True, renamed=None):
  """Decorator: registers `fn` (the one signature of the module doc) as adversary
  `name` (`renamed`: see `Adversary`). ValueError if the name or mode is taken, or a
  shared flag gets two defaults."""

  def add(fn):
    resolved = tuple(dataclasses.replace(p, flag=p.flag or f"{name}_{p.name}")
                     for p in params)
    _REGISTRY.check_new(name)
    if any(a.mode == mode for a in _REGISTRY.values()):
      raise ValueError(f"training mode {mode!r} already belongs to another adversary.")
    defaults = {p.flag: p.default for a in _REGISTRY.values() for p in a.params}
    for p in resolved:
      if p.flag in defaults and defaults[p.flag] != p.default:
        raise ValueError(f"adversary {name!r}: flag {p.flag!r} is shared with another "
                         f"adversary whose default is {defaults[p.flag]!r}, not "
                         f"{p.default!r}.")
    _REGISTRY.add(name, Adversary(name, mode, paper_name, fn, resolved,
                                  (fn.__doc__ or "").strip(), in_paper,
                                  dict(renamed or {})))
    return fn

  return add


def get(name):
  """The `Adversary` registered as `name` (ValueError listing the names otherwise)."""
  return _REGISTRY.get(name)


def by_mode(mode):
  """The `Adversary` whose training mode is `mode`, or None."""
  return next((a for a in _REGISTRY.values() if a.mode == mode), None)


def all_params():
  """Every registered `Param`, one per flag, in registration order."""
  seen = {}
  for adversary in _REGISTRY.values():
    for param in adversary.params:
      seen.setdefault(param.flag, param)
  return list(seen.values())


def _cast(value, default):
  """A swept value (string or number) in the type of the parameter's default."""
  if isinstance(default, bool):
    return str(value).lower() in ("1", "true", "yes")
  if isinstance(default, int):
    return int(value)
  if isinstance(default, float):
    return float(value)
  return str(value)


def crafters(names, values=None, sweep=(), sweep_values=(), **call_kwargs):
  """The attacks of an attack matrix: [(name, sweep value or "", fn)], with
  fn(model, images, labels) -> adversarial images.

  names: registered adversaries. values: {flag: value} of their parameters (a missing
  flag keeps its default). sweep: flags whose value each of `sweep_values` replaces, in
  turn, for every adversary that has one of them (the others run once). call_kwargs go
  to every call (e.g. num_classes=None for ImageNet models); `loss_reduction` defaults
  to "sum": each image is attacked with its own loss, whatever else shares its batch.
  """
  call_kwargs.setdefault("loss_reduction", "sum")
  values = dict(values or {})
  sweep = tuple(sweep)
  known = {param.flag for name in names for param in get(name).params}
  unknown = sorted(set(sweep) - known)
  if unknown:
    raise ValueError(f"--sweep: {unknown} are no parameters of the attacks {list(names)}; "
                     f"expected some of {sorted(known)}.")
  if sweep and not sweep_values:
    raise ValueError(f"--sweep={','.join(sweep)} needs --sweep_values.")
  out = []
  for name in names:
    adversary = get(name)
    swept = [p for p in adversary.params if p.flag in sweep]
    for value in (sweep_values if swept else [""]):
      params = adversary.params_from(values)
      for param in swept:
        params[param.name] = _cast(value, param.default)
      adversary.check_params(params, source=f"--attacks={name}")
      out.append((name, value, lambda m, x, y, a=adversary, p=params: a.attack(
          m, x, y, **call_kwargs, **p).images))
  return out
