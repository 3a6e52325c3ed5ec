"""dfadv_tf.evaluation."""
