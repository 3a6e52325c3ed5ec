"""dfadv_tf.models."""
