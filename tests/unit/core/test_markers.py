"""The marker catalogue: one name per quantity, used by every record and output that names one."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from hrvcoach.analysis import rhythm_quality, window_markers
from hrvcoach.analysis.resonance import RateScore
from hrvcoach.core.markers import CATALOGUE, LEGACY_NAMES, MARKERS, Markers, format_marker, marker
from hrvcoach.history.phases import PhaseData, phase_markers


def test_every_name_is_unique_and_says_its_unit():
    names = [spec.name for spec in CATALOGUE]
    assert len(names) == len(set(names))
    for spec in CATALOGUE:
        suffix_units = {"_ms": "ms", "_ms2": "ms²", "_hz": "Hz", "_pct": "%", "_bpm": "bpm", "_s": "s"}
        for suffix, unit in suffix_units.items():
            if spec.name.endswith(suffix) and not spec.name.endswith("_ms2_per_hz"):
                assert spec.unit == unit, spec.name
    assert marker("breaths_per_min").unit == "/min"  # breaths, never "bpm" (beats)
    assert not set(LEGACY_NAMES) & set(MARKERS)


def test_the_live_record_and_the_window_families_use_only_catalogue_names():
    live = {field.name for field in dataclasses.fields(Markers)}
    assert live <= set(MARKERS)
    found = window_markers(np.full(200, 1000.0) + 30 * np.sin(np.arange(200) * 1.3))
    for family in (found.time, found.frequency, found.breathing, found.coherence):
        numbers = {f.name for f in dataclasses.fields(family)
                   if f.type in ("float", "bool") and f.name not in ("paced", "peak_power_ms2",
                                                                     "block_power_ms2")}
        assert numbers <= set(MARKERS), type(family).__name__
    assert {f.name for f in dataclasses.fields(RateScore)} <= set(MARKERS)


def test_stored_phase_markers_use_only_catalogue_names_and_kinds():
    rr = 1000.0 + 40.0 * np.sin(2 * np.pi * 0.1 * np.cumsum(np.full(300, 1.0)))
    data = PhaseData(session=None, phase=None, rr_ms=rr,  # type: ignore[arg-type]
                     after_gap=np.zeros(rr.size, dtype=bool), time_s=np.cumsum(rr) / 1000,
                     n_beats=rr.size, n_flagged=0, breaths_per_min=6.0,
                     quality=rhythm_quality(rr, corrected_beats=0))
    stored = phase_markers(data)
    assert set(stored) <= set(MARKERS)
    assert stored["hf_valid"] is False and isinstance(stored["n_beats"], int)


@pytest.mark.parametrize(("name", "value", "text"), [
    ("rmssd_ms", 42.04, "42.0"), ("ln_rmssd", 3.7421, "3.74"), ("mean_hr_bpm", -0.04, "0.0"),
    ("hf_valid", False, "no"), ("coherence_ratio", math.nan, "—"), ("lf_ms2", None, "—")])
def test_values_are_shown_with_the_catalogue_digits_and_never_as_minus_zero(name, value, text):
    assert format_marker(name, value) == text


def test_an_unknown_name_is_a_clear_error():
    with pytest.raises(KeyError, match="not in the marker catalogue"):
        marker("rmssd")
