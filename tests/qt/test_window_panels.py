"""Every panel of the coach window draws what a real session sends it (offscreen Qt).

A simulated session (the demo protocol on the simulated strap, with artifacts) runs on an
InstantClock straight into `CoachWindow.handle`; the tests then draw a frame at a chosen session
time and compare the plots' data (`xData`/`yData`: `getData()` returns only what is displayed)
and the labels with the snapshots the session sent.
"""

from __future__ import annotations

import asyncio
import math

import numpy as np
import pytest

from hrvcoach.core.beats import Beat
from hrvcoach.core.clock import InstantClock
from hrvcoach.core.constants import HF_BAND_HZ, LF_BAND_HZ, VLF_BAND_HZ
from hrvcoach.core.markers import Markers
from hrvcoach.protocols.pacer import Pacer
from hrvcoach.protocols.protocol import load_protocol
from hrvcoach.session import Session, SessionEnded, SessionEvent, Snapshot
from hrvcoach.sources.simulator import SimulatedPerson, SimulatedStrap
from hrvcoach.views.qt.series import TrendSeries
from hrvcoach.views.qt.theme import DARK, LIGHT
from hrvcoach.views.qt.window import TREND_POINTS, CoachWindow, coherence_words
from hrvcoach.views.text import number_text

DEMO = load_protocol("demo")  # settle 0-60 s (baseline), slow breathing 6/min 60-240 s, rest


def run_demo(window: CoachWindow, until_s: float, *, artifacts_per_min: float = 2.0,
             seed: int = 3) -> list[Snapshot]:
    """Run the demo session on the simulated strap until `until_s`; the window sees every event
    but the end (so it looks as in the middle of the session)."""
    clock = InstantClock()
    snapshots: list[Snapshot] = []

    def on_event(event: SessionEvent) -> None:
        if isinstance(event, Snapshot):
            snapshots.append(event)
        if not isinstance(event, SessionEnded):
            window.handle(event)

    strap = SimulatedStrap(Pacer.for_protocol(DEMO), clock, SimulatedPerson(), seed=seed,
                           artifacts_per_min=artifacts_per_min)
    session = Session(DEMO, strap, on_event, duration_s=until_s, clock=clock)
    asyncio.run(session.run())
    return snapshots


@pytest.fixture(scope="module")
def paced(qapp) -> tuple[CoachWindow, list[Snapshot]]:
    """The window after 150 s of the demo: 60 s baseline, then 90 s paced at 6/min."""
    window = CoachWindow(DEMO, Pacer.for_protocol(DEMO), InstantClock())
    snapshots = run_demo(window, 150.0)
    window.render_frame(150.0)
    yield window, snapshots
    window.close()
    window.deleteLater()


def test_heart_rhythm_draws_each_beats_instant_heart_rate_of_the_last_90_s(paced):
    window, snapshots = paced
    shown = [s for s in snapshots if s.time_s >= 150.0 - window.history_s]
    np.testing.assert_array_equal(window.hr_curve.xData, [s.time_s for s in shown])
    np.testing.assert_allclose(window.hr_curve.yData, [s.instant_hr_bpm for s in shown])
    (x0, x1), _ = window.plot.getPlotItem().getViewBox().viewRange()
    assert x0 == pytest.approx(60.0) and x1 == pytest.approx(154.0)  # 4 s of the coming breath


def test_artifact_beats_the_session_flags_are_ringed(paced):
    window, snapshots = paced
    ever_flagged = {t for s in snapshots for t in s.artifacts}
    flagged_now = {t for t in snapshots[-1].artifacts if t >= 60.0}  # the last 64 beats' flags
    ringed = set(window.artifact_points.getData()[0].tolist())
    assert ringed, "the simulated strap made artifacts the detector flags"
    assert flagged_now <= ringed <= ever_flagged


def test_every_marker_card_shows_the_latest_markers_with_their_baseline(paced):
    window, snapshots = paced
    last, baseline = snapshots[-1].markers, snapshots[-1].baseline
    assert baseline is not None  # the settle phase (compare = "before") ended at 60 s
    expected = {"mean_hr_bpm": 0, "rmssd_ms": 0, "p2t_bpm": 1, "breathing_power_ms2": 0,
                "coherence_ratio": 1, "hf_ms2": 0}
    for key, digits in expected.items():
        card = window.cards[key]
        assert card.value_label.text() == number_text(getattr(last, key), digits), key
        assert card.value_label.text() != "—", key
        base = getattr(baseline, key)
        if math.isfinite(base):
            assert f"baseline {number_text(base, digits)}" in card.detail_label.text(), key
    assert window.hr_label.text() == number_text(last.mean_hr_bpm)
    assert coherence_words(last.coherence_ratio) in window.cards["coherence_ratio"].detail_label.text()
    assert f"at {last.breaths_per_min:.1f} breaths/min" in \
        window.cards["breathing_power_ms2"].detail_label.text()


def test_hf_is_greyed_with_its_reason_while_breathing_at_6_per_min(paced):
    window, snapshots = paced
    assert snapshots[-1].markers.hf_valid is False
    card = window.cards["hf_ms2"]
    assert card.dimmed and "not valid" in card.detail_label.text()
    assert window.cards["rmssd_ms"].dimmed is False


def test_trend_lines_hold_each_markers_session_history_and_baseline(paced):
    window, snapshots = paced
    spark = window.cards["rmssd_ms"].sparkline
    expected = TrendSeries(TREND_POINTS)  # every beat's RMSSD, thinned for drawing
    for s in snapshots:
        expected.append(s.time_s, s.markers.rmssd_ms)
    x, y = expected.data()
    assert expected.count == len(snapshots) > spark.times_s.size > TREND_POINTS
    np.testing.assert_array_equal(spark.times_s, x)
    np.testing.assert_allclose(spark.values, y, equal_nan=True)
    assert spark.times_s[-1] == snapshots[-1].time_s
    assert spark.baseline == snapshots[-1].baseline.rmssd_ms


def test_spectrum_shows_the_sessions_spectrum_bands_and_breathing_rate(paced):
    window, snapshots = paced
    spectrum = snapshots[-1].spectrum
    assert spectrum is not None and spectrum.frequency_hz.size > 20
    keep = spectrum.frequency_hz <= 0.45
    np.testing.assert_array_equal(window.spectrum.psd_curve.xData, spectrum.frequency_hz[keep])
    np.testing.assert_array_equal(window.spectrum.psd_curve.yData, spectrum.psd_ms2_per_hz[keep])
    regions = [tuple(region.getRegion()) for region in window.spectrum.regions]
    assert regions == [VLF_BAND_HZ, LF_BAND_HZ, HF_BAND_HZ]
    assert window.spectrum.breath_line.value() == pytest.approx(6.0 / 60.0)  # the pacer's rate
    assert window.spectrum.breath_line.isVisible()
    peak_hz = spectrum.frequency_hz[np.argmax(spectrum.psd_ms2_per_hz)]
    assert abs(peak_hz - 0.1) < 0.02  # the simulated heart follows the 6/min breath


def test_session_bar_shows_phase_timeline_time_connection_and_signal(paced):
    window, _ = paced
    assert window.phase_label.text() == "slow breathing"
    assert window.phase_step_label.text().startswith("demo · phase 2 of 3 · paced")
    assert window.elapsed_label.text() == "02:30 / 05:00"
    assert window.remaining_label.text() == "02:30 left"
    assert window.pacer_label.text() == "breathe in"  # 150 s: the 10th paced breath begins
    assert window.timeline.position_s == pytest.approx(150.0, abs=1.0)
    assert [p.name for p in window.timeline.phases] == ["settle", "slow breathing", "rest"]
    assert window.connection_label.text() == "● connected · simulated strap"
    assert window.signal_label.text() in ("signal good", "signal fair", "signal poor")


def test_the_spectrum_waits_for_enough_beats(qtbot):
    window = CoachWindow(DEMO, Pacer.for_protocol(DEMO), InstantClock())
    qtbot.addWidget(window)
    window.render_frame(5.0)
    assert window.spectrum.psd_curve.xData is None or window.spectrum.psd_curve.xData.size == 0
    assert "appears after" in window.spectrum.placeholder.textItem.toPlainText()
    assert not window.spectrum.breath_line.isVisible()


def test_an_artifact_flag_withdrawn_by_the_detector_is_unringed(qtbot):
    pacer = Pacer.for_protocol(DEMO)
    window = CoachWindow(DEMO, pacer, InstantClock())
    qtbot.addWidget(window)
    index, phase, _ = DEMO.phase_at(10.0)

    def snap(t_s: float, artifacts: tuple[float, ...], since_s: float) -> Snapshot:
        return Snapshot(t_s, Beat(900.0, t_s), 66.7, index, phase, pacer.state_at(t_s),
                        Markers(66.0, 40.0, 10), artifacts=artifacts, artifacts_since_s=since_s)

    for t in (10.0, 11.0, 12.0):
        window.handle(snap(t, (11.0,) if t >= 11.0 else (), 10.0))
    window.render_frame(12.5)
    assert window.artifact_points.getData()[0].tolist() == [11.0]
    window.handle(snap(13.0, (), 10.0))  # the provisional flag did not hold
    window.render_frame(13.5)
    assert window.artifact_points.getData()[0].tolist() == []


def test_pacer_parts_follow_each_phase_of_a_protocol_with_holds(qtbot):
    box = load_protocol("box-breathing")
    pacer = Pacer.for_protocol(box)
    window = CoachWindow(box, pacer, InstantClock())
    qtbot.addWidget(window)
    words = {"in": "breathe in", "hold in": "hold", "out": "breathe out", "hold out": "hold"}
    seen = set()
    for t_s in np.arange(0.0, box.duration_s, 0.7):
        state = pacer.state_at(float(t_s))
        window.render_frame(float(t_s))
        if state.paced:
            assert window.pacer_label.text() == words[state.part], t_s
            assert window.pacer_item.disc_radius_px() > 0
            seen.add(state.part)
        else:
            assert window.pacer_label.text() == "breathe freely"
            assert window.pacer_item.disc_radius_px() == 0.0
    assert seen == {"in", "hold in", "out", "hold out"}


def test_dark_and_light_themes_recolour_every_panel(qtbot):
    window = CoachWindow(DEMO, Pacer.for_protocol(DEMO), InstantClock(), theme="light")
    qtbot.addWidget(window)
    assert window.theme is LIGHT and window.pacer_item.theme is LIGHT
    assert LIGHT.background in window.pages.styleSheet()
    assert window.hr_curve.opts["pen"].color().name() == LIGHT.heart
    assert window.timeline.theme is LIGHT
    window.toggle_theme()
    assert window.theme is DARK and window.pacer_item.theme is DARK
    assert DARK.background in window.pages.styleSheet()
    assert window.hr_curve.opts["pen"].color().name() == DARK.heart
    assert window.theme_button.text() == "Light"


def test_what_is_drawn_stays_bounded_after_an_hour(qtbot):
    pacer = Pacer.for_protocol(DEMO)
    window = CoachWindow(DEMO, pacer, InstantClock())
    qtbot.addWidget(window)
    index, phase, _ = DEMO.phase_at(100.0)
    t_s = 0.0
    while t_s < 3600.0:
        t_s += 0.9
        window.handle(Snapshot(t_s, Beat(900.0, t_s), 66.7, index, phase, pacer.state_at(t_s),
                               Markers(66.0, 40.0, 60, p2t_bpm=8.0)))
    window.render_frame(t_s)
    assert window.hr_curve.xData.size <= window.history_s / 0.9 + 2
    for card in window.cards.values():
        assert 0 < card.sparkline.times_s.size <= 2 * TREND_POINTS
        assert card.sparkline.times_s[-1] == pytest.approx(t_s)
    assert window.cards["p2t_bpm"].sparkline.values[-1] == pytest.approx(8.0)


def test_trend_series_merges_neighbours_and_keeps_the_mean():
    series = TrendSeries(max_points=4)  # at most 8 points drawn
    for i in range(100):
        series.append(float(i), float(i) if i != 50 else math.nan)
    times, means = series.data()
    assert len(series) <= 8 and series.count == 100
    assert times[-1] == 99.0 and np.all(np.diff(times) > 0)
    # each drawn point is the mean of the run of points since the one before (NaN left out)
    previous = -1.0
    for t, mean in zip(times, means, strict=True):
        run = [i for i in range(100) if previous < i <= t and i != 50]
        assert mean == pytest.approx(np.mean(run))
        previous = t
    assert series.last() == pytest.approx(means[-1])


def ecg_chunks(start_s: float, seconds: float, *, rate_hz: float = 130.0, beat_s: float = 1.0,
               per_chunk: int = 73, after_gap: bool = False) -> list:
    """ECG chunks of a rhythm strip: 1 mV spikes every beat_s on a flat line (µV)."""
    from hrvcoach.core.raw import RawChunk

    n = int(seconds * rate_hz)
    t = start_s + np.arange(n) / rate_hz
    uv = np.where(np.abs((t + 1e-9) % beat_s) < 1.5 / rate_hz, 1000, 0).astype(int)
    return [RawChunk("ecg", float(t[i]), rate_hz, tuple(int(v) for v in uv[i:i + per_chunk]),
                     after_gap=after_gap and i == 0) for i in range(0, n, per_chunk)]


def test_the_ecg_strip_is_offered_once_the_strap_sends_ecg_and_shows_its_newest_seconds(qapp):
    window = CoachWindow(DEMO, Pacer.for_protocol(DEMO), InstantClock())
    window.resize(1280, 800)
    window.show()
    window.render_frame(5.0)
    assert window.ecg_box.isHidden() and window.ecg_strip.widget.isHidden()  # a strap without ECG
    for chunk in ecg_chunks(0.0, 6.0) + ecg_chunks(6.5, 3.0, after_gap=True):
        window.handle(chunk)
    window.render_frame(9.5)
    assert not window.ecg_box.isHidden() and window.ecg_strip.widget.isHidden()  # offered, off
    window.ecg_box.setChecked(True)
    window.render_frame(9.5)
    qapp.processEvents()
    assert window.ecg_strip.widget.isVisible()
    x, y = window.ecg_strip.trace.xData, window.ecg_strip.trace.yData
    finite = np.isfinite(x)
    assert x[finite].max() == pytest.approx(9.5 - 1 / 130, abs=1e-6)  # the newest 4 s
    assert x[finite].min() == pytest.approx(9.5 - 1 / 130 - 4.0, abs=1 / 130)
    assert np.isnan(y).sum() == 1 and np.isnan(x).sum() == 1  # the line breaks at the gap
    gap = int(np.flatnonzero(np.isnan(x))[0])
    assert x[gap - 1] < 6.0 and x[gap + 1] == pytest.approx(6.5)
    spikes = x[np.isfinite(y) & (y > 0.5)]  # mV: 1000 µV spikes
    assert spikes.size >= 6 and np.all(np.abs(spikes - np.round(spikes)) < 0.02)  # on the beats
    assert set(np.round(y[np.isfinite(y)], 6)) == {0.0, 1.0}
    window.ecg_box.setChecked(False)
    assert window.ecg_strip.widget.isHidden()
    window.close()
