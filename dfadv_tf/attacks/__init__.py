"""Input-gradient adversaries: FGSM/PGD (Eq. 1), gradient blur BAT (Eq. 6), spatial
flow SAT (Xiao et al.) and the combined blur + FGSM attack (Fig. 3)."""

from dfadv_tf.attacks.additive import fgsm, pgd
from dfadv_tf.attacks.blur import blur_attack
from dfadv_tf.attacks.combined import combined_attack
from dfadv_tf.attacks.spatial import spatial_attack
