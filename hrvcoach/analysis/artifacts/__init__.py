"""Artifact detection and correction (Lipponen & Tarvainen 2019, the method Kubios uses):
detect (the batch classifier), correct (plan and apply fixes), stream (the live detector)."""

from hrvcoach.analysis.artifacts.correct import (
    FIX_KIND,
    Artifact,
    Correction,
    Fix,
    apply_corrections,
    correct_artifacts,
    plan_fixes,
)
from hrvcoach.analysis.artifacts.detect import (
    ARTIFACT_KINDS,
    ArtifactKind,
    Detection,
    IntArray,
    detect_artifacts,
    rolling_median,
)
from hrvcoach.analysis.artifacts.stream import StreamingArtifactDetector

__all__ = [
    "ARTIFACT_KINDS",
    "FIX_KIND",
    "Artifact",
    "ArtifactKind",
    "Correction",
    "Detection",
    "Fix",
    "IntArray",
    "StreamingArtifactDetector",
    "apply_corrections",
    "correct_artifacts",
    "detect_artifacts",
    "plan_fixes",
    "rolling_median",
]
