"""dfadv_tf.data."""
