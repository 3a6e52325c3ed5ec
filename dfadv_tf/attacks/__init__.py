"""Input-gradient adversaries: FGSM/PGD (Eq. 1), gradient blur BAT (Eq. 6), spatial
flow SAT (Xiao et al.) and the combined blur + FGSM attack (Fig. 3).

`ADVERSARIES` (`registry.py`) maps one name per adversary to its registered function;
importing a module registers its adversaries (one line each below).
"""

from dfadv_tf.attacks.additive import fgsm, pgd  # registers "fgsm", "pgd"
from dfadv_tf.attacks.blur import blur_attack  # registers "bat"
from dfadv_tf.attacks.combined import combined_attack
from dfadv_tf.attacks.registry import ADVERSARIES, Adversarial, get
from dfadv_tf.attacks.spatial import spatial_attack  # registers "sat"
