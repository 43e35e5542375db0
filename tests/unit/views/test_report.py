"""Reports open and show what they claim: page count and size, and the plotted data is the
session's (tachogram, artifacts, Poincaré, marker table, before/after), and the trend chart's."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pytest
from matplotlib import pyplot as plt
from matplotlib.image import imread

from hrvcoach.history.compare import compare
from hrvcoach.history.phases import session_phase_data
from hrvcoach.history.trends import TrendDay, Trends, TrendWeek
from hrvcoach.store import Store
from hrvcoach.views.report import (
    session_report_figures,
    trends_figure,
    write_session_report,
    write_trends_chart,
)
from tests.store_helpers import record_simulated_session


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    home = tmp_path_factory.mktemp("report")
    with Store.open(home) as store:
        session_id = record_simulated_session(store, "demo", seed=5, artifacts_per_min=2.0)
    store = Store.open(home)
    yield store, session_id
    store.close()


def by_gid(figures, gid):
    found = [a for f in figures for a in f.findobj(lambda artist: artist.get_gid() == gid)]
    assert found, f"nothing drawn with gid {gid!r}"
    return found[0]


def test_the_pdf_has_two_pages_and_the_png_both_pages(recorded, tmp_path):
    store, session_id = recorded
    pdf = write_session_report(store, session_id, tmp_path / "s.pdf")
    content = pdf.read_bytes()
    assert content.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page\b", content)) == 2
    png = write_session_report(store, session_id, tmp_path / "s.png")
    image = imread(png)
    assert image.shape[:2] == (2338, 827)  # two A4 pages at 100 dpi, one above the other
    assert image[..., :3].std() > 0.1  # not blank


def test_the_tachogram_plots_every_beat_and_marks_the_artifacts(recorded):
    store, session_id = recorded
    figures = session_report_figures(store, session_id)
    try:
        beats = store.beats(session_id)
        line = by_gid(figures, "tachogram")
        assert np.array_equal(line.get_xdata(), np.asarray(beats.time_s) / 60)
        assert np.array_equal(line.get_ydata(), np.asarray(beats.rr_ms))
        flagged = [rr for rr, kind in zip(beats.rr_ms, beats.artifact, strict=True) if kind]
        assert len(flagged) >= 5
        assert by_gid(figures, "artifacts").get_ydata().tolist() == flagged
        title = figures[0].get_suptitle()
        assert f"session {session_id} — demo" in title and f"{len(beats)} beats" in title
    finally:
        for figure in figures:
            plt.close(figure)


def test_the_poincare_plot_and_spectra_show_each_phase(recorded):
    store, session_id = recorded
    figures = session_report_figures(store, session_id)
    try:
        for data in session_phase_data(store, session_id).phases:
            points = by_gid(figures, f"poincare-{data.phase.index}").get_offsets()
            keep = ~data.after_gap[1:]
            assert np.array_equal(points[:, 0], data.rr_ms[:-1][keep])
            assert np.array_equal(points[:, 1], data.rr_ms[1:][keep])
            spectrum = by_gid(figures, f"spectrum-{data.phase.index}")
            assert spectrum.get_xdata().max() <= 0.5
    finally:
        for figure in figures:
            plt.close(figure)


def test_the_marker_table_and_before_after_show_the_stored_numbers(recorded):
    store, session_id = recorded
    figures = session_report_figures(store, session_id)
    try:
        table = by_gid(figures, "markers-table")
        cells = {(row, col): cell.get_text().get_text() for (row, col), cell in table.get_celld().items()}
        labels = [cells[(row, -1)] for row in range(1, 20) if (row, -1) in cells]
        rmssd_row = labels.index("RMSSD (ms)") + 1
        markers = store.markers(session_id)
        assert [cells[(rmssd_row, col)] for col in range(3)] == [
            f"{markers[i]['rmssd_ms']:.1f}" for i in range(3)]
        assert cells[(labels.index("HF validity") + 1, 1)] == "HF not valid"
        result = compare(store, session_id)
        point = by_gid(figures, "change-rmssd_ms")
        assert point.get_xdata()[0] == pytest.approx(result.change("rmssd_ms").pct)
        texts = [t.get_text() for t in figures[1].texts]
        assert f"verdict: {result.verdict()}" in texts
    finally:
        for figure in figures:
            plt.close(figure)


def test_the_trend_chart_draws_the_days_band_and_flags(tmp_path):
    start = dt.date(2026, 3, 1)
    days = [TrendDay(start + dt.timedelta(d), 3.5 + 0.01 * d, 3.5 + 0.01 * d if d > 1 else None,
                     3.4, 3.6, "above" if d > 25 else None, 4.0, d + 1) for d in range(30)]
    weeks = [TrendWeek("2026-W09", dt.date(2026, 2, 23), 45.0, 12.0, 3)]
    figure = trends_figure(Trends(days, weeks))
    try:
        daily = by_gid([figure], "daily")
        assert daily.get_ydata().tolist() == [d.ln_rmssd for d in days]
        flags = by_gid([figure], "flags")
        assert len(flags.get_xdata()) == 4
        bars = figure.findobj(lambda artist: artist.get_gid() == "practice")
        assert [bar.get_height() for bar in bars] == [45.0]
    finally:
        plt.close(figure)
    png = write_trends_chart(Trends(days, weeks), tmp_path / "t.png")
    assert imread(png).shape[:2] == (900, 1000)


def text_boxes(figure, prefix):
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    return [t.get_window_extent(renderer) for t in figure.texts + [
        t for a in figure.axes for t in a.texts] if (t.get_gid() or "").startswith(prefix)]


def test_short_phases_labels_never_overlap_and_marks_are_drawn(tmp_path):
    from hrvcoach.core.records import Annotation

    with Store.open(tmp_path) as store:
        session_id = record_simulated_session(store, "resonance-assessment", seed=2)
        store.record_items(session_id, len(store.beats(session_id)), [
            Annotation(200.0, "note", "a dog barked"),
            Annotation(400.0, "pacing", "pacing: 5 breaths/min")])
        figures = session_report_figures(store, session_id)
    try:
        boxes = text_boxes(figures[0], "phase-label-")
        assert len(boxes) == 11  # every phase is labelled, the 30-s rests too
        assert not [(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:] if a.overlaps(b)]
        assert by_gid(figures, "note-1").get_xdata()[0] == pytest.approx(200.0 / 60)
        assert by_gid(figures, "pacing-2").get_xdata()[0] == pytest.approx(400.0 / 60)
        notes = by_gid(figures, "notes-text").get_text()
        assert "a dog barked" in notes and "pacing: 5 breaths/min" in notes
    finally:
        for figure in figures:
            plt.close(figure)


def test_an_import_is_described_by_what_is_known_and_no_comparison_stays_in_its_half(tmp_path,
                                                                                    capsys):
    from hrvcoach.views.cli.main import main

    rr = tmp_path / "run.txt"
    rr.write_text("".join(f"{600 + 40 * np.sin(i / 2.0):.1f}\n" for i in range(400)))
    assert main(["--data-dir", str(tmp_path / "home"), "import", str(rr), "--protocol",
                 "morning-check"]) == 0
    with Store.open(tmp_path / "home") as store:
        figures = session_report_figures(store, 1)
    try:
        title = figures[0].get_suptitle()
        assert "imported from run.txt" in title and "laid over it afterwards" in title
        figures[0].canvas.draw()  # the long source line is wrapped within the page, as the note
        page = figures[0].bbox
        title_box = figures[0]._suptitle.get_window_extent(figures[0].canvas.get_renderer())
        for box in (title_box, *text_boxes(figures[0], "hf-note")):
            assert page.x0 <= box.x0 and box.x1 <= page.x1, (box, page)
        (message,) = text_boxes(figures[1], "no-comparison")  # a morning check has no "after"
        poincare = by_gid(figures, "poincare-axes")
        figures[1].canvas.draw()
        left_of_poincare = poincare.get_tightbbox(figures[1].canvas.get_renderer()).x0
        assert message.x1 < left_of_poincare  # it no longer runs into the Poincaré plot
    finally:
        for figure in figures:
            plt.close(figure)
