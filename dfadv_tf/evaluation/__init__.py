"""Metrics (frame / video AUC, ACC, AP, EER) and cross-method / cross-quality tables."""
