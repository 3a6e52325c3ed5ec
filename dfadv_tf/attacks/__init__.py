"""dfadv_tf.attacks."""
