"""dfadv_tf.training."""
