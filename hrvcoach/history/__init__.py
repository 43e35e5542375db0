"""What the store's sessions mean: per-phase markers, before/after comparisons, trends, the
resonance profile and its assessment, and moving sessions in and out of the store."""
