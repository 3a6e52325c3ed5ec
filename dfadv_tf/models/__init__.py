"""Detectors and the blur generator.

`backbones.BACKBONES` is the registry of `build_detector` names; the Table VI detectors
register into it when their modules are imported, which this package does:
"""

from dfadv_tf.models import backbones
from dfadv_tf.models import attention_ffd  # registers "stehouwer_xception"
from dfadv_tf.models import multi_attention  # registers "multi_attention_efficientnetb*"
