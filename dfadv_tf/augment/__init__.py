"""dfadv_tf.augment."""
