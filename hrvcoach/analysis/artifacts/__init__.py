"""Artifact detection and correction (Lipponen & Tarvainen 2019, the method Kubios uses, with
hrvcoach's threshold bounds): detect (the batch classifier), correct (merge fragments, judge,
plan and apply fixes), stream (the live detector)."""

from hrvcoach.analysis.artifacts.correct import (
    FIX_KIND,
    Artifact,
    BoolArray,
    Correction,
    Fix,
    apply_corrections,
    correct_artifacts,
    fragment_goes_back,
    held_from,
    judge_stretch,
    merge_fragments,
    moved_mask,
    plan_fixes,
)
from hrvcoach.analysis.artifacts.detect import (
    ARTIFACT_KINDS,
    ArtifactKind,
    Detection,
    IntArray,
    bounded_threshold,
    detect_artifacts,
    rolling_median,
)
from hrvcoach.analysis.artifacts.stream import StreamingArtifactDetector

__all__ = [
    "ARTIFACT_KINDS",
    "FIX_KIND",
    "Artifact",
    "ArtifactKind",
    "BoolArray",
    "Correction",
    "Detection",
    "Fix",
    "IntArray",
    "StreamingArtifactDetector",
    "apply_corrections",
    "bounded_threshold",
    "correct_artifacts",
    "detect_artifacts",
    "fragment_goes_back",
    "held_from",
    "judge_stretch",
    "merge_fragments",
    "moved_mask",
    "plan_fixes",
    "rolling_median",
]
