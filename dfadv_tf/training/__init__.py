"""dfadv_tf.training: the training modes (keras.Model subclasses with their own train_step),
RAdam and step decay, TensorBoard callbacks (adversarial images, Grad-CAM)."""

from dfadv_tf.training.base import TrainingModel
from dfadv_tf.training.callbacks import AdversarialTensorBoard
from dfadv_tf.training.detector import DetectorModel
from dfadv_tf.training.explanations import GradCamTensorBoard
from dfadv_tf.training.generator_bat import GeneratorBATModel
from dfadv_tf.training.gradient_at import GradientATModel
from dfadv_tf.training.optimizers import RAdam, StepDecay
