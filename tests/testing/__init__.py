"""Shared test helpers: `layers` (the layer test every layer and model goes through),
`models` (tiny detectors), `data` (tiny images and batches), `training` (weight snapshots,
a shared MirroredStrategy, fitting every mode), `attacks` (a toy set and trained
detectors for the attack tests), `tools` (a tiny benchmark and a runner for the
binaries), `video` (test videos)."""
