"""Reports drawn with matplotlib (the only module that imports it): the resonance assessment, the
session report (`hrvcoach report`) and the trend chart (`hrvcoach trends -o`)."""

from __future__ import annotations

import math
import textwrap
from pathlib import Path
from typing import Any, cast

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display

import matplotlib.pyplot as plt
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from hrvcoach.core.errors import InputError
from hrvcoach.core.markers import format_marker, marker
from hrvcoach.history.profile import Profile

_METRICS = ("p2t_bpm", "lf_peak_ms2_per_hz", "breathing_power_ms2", "coherence_ratio")


def resonance_figure(profile: Profile) -> Figure:
    """One panel per sign of resonance against breathing rate, the chosen rate marked."""
    if not profile.scores:
        raise InputError("profile", "no resonance assessment to plot yet")
    scores = sorted(profile.scores, key=lambda score: score.breaths_per_min)
    rates = [score.breaths_per_min for score in scores]
    shown = [(key, marker(key).with_unit()) for key in _METRICS
             if any(math.isfinite(getattr(score, key)) for score in scores)]
    figure, axes = plt.subplots(1, len(shown) + 1, figsize=(3.6 * (len(shown) + 1), 3.8),
                                constrained_layout=True)
    for axis, (key, label) in zip(axes, [*shown, ("resonance_score", "combined score (1 = best in all)")],
                                  strict=True):
        values = [getattr(score, key) for score in scores]
        axis.plot(rates, values, "o-", color="#3a7ca5")
        lost = [(rate, value) for rate, value, score in zip(rates, values, scores, strict=True)
                if score.pacer_followed is False]  # the person breathed at another rate: not trusted
        if lost:
            axis.plot(*zip(*lost, strict=True), "x", color="#c0392b", markersize=11, mew=2,
                      gid=f"not-followed-{key}", label="pacer not followed (not trusted)")
        if profile.resonance_breaths_per_min is not None:
            axis.axvline(profile.resonance_breaths_per_min, color="#e07a5f", linestyle="--",
                         label=f"chosen {profile.resonance_breaths_per_min:g}/min")
        axis.set_xlabel("breathing rate (breaths/min)")
        axis.set_title(label, fontsize=10)
        axis.grid(alpha=0.3)
    axes[-1].legend(loc="lower center", fontsize=9)
    when = f" — assessed {profile.assessed_at}" if profile.assessed_at else ""
    figure.suptitle(f"Resonance-frequency assessment{when}", fontsize=12)
    return figure


def plot_resonance(profile: Profile, path: Path) -> Path:
    """Save resonance_figure as an image (PNG, PDF or SVG by the file's suffix)."""
    figure = resonance_figure(profile)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, dpi=110)
    except OSError as exc:
        raise InputError(str(path), f"cannot write the plot ({exc})") from None
    finally:
        plt.close(figure)
    return path


# ---------------------------------------------------------------------------------------------
# Session report and trend chart


_PHASE_COLOURS = ("#3a7ca5", "#e07a5f", "#81b29a", "#f2cc8f", "#9d4edd", "#6c757d", "#2a9d8f")
A4_PORTRAIT_IN = (8.27, 11.69)
SPECTRUM_MIN_S = 30.0  # shorter phases get no spectrum line
REPORT_LINE_CHARS = 110  # a line of 10-point text across an A4 page
REPORT_PNG_DPI = 100  # a PNG report is both A4 pages one above the other: 827 x 2338 pixels
_TABLE_MARKERS = ("mean_hr_bpm", "rmssd_ms", "ln_rmssd", "sdnn_ms", "pnn50_pct", "sd1_ms", "sd2_ms",
                  "stress_index", "lf_ms2", "hf_ms2", "breaths_per_min", "coherence_ratio",
                  "artifact_pct")
# with a strap's raw data: the measured breath, the pacer followed, stillness, a form's response
_RAW_TABLE_MARKERS = ("breathing_rate_measured", "pacer_adherence", "heart_breath_phase_deg",
                      "still_fraction", "hr_rise_bpm")

def _phase_colour(index: int) -> str:
    return _PHASE_COLOURS[index % len(_PHASE_COLOURS)]


def _page_summary(page: Any, store: Any, info: Any, analysis: Any, markers: dict[int, Any]) -> None:
    """Page 1: title, tachogram with phases and artifacts, markers per phase."""
    import numpy as np

    beats = store.beats(info.id)
    phases = store.phases(info.id)
    time_min = np.asarray(beats.time_s) / 60.0
    rr = np.asarray(beats.rr_ms)
    usable = np.asarray(beats.usable, dtype=bool)
    artifact = np.asarray([kind is not None for kind in beats.artifact], dtype=bool)
    n_artifacts = int(artifact.sum())
    length = f"{(info.duration_s or 0) / 60:.1f} min"
    page.suptitle(f"hrvcoach session {info.id} — {info.protocol}\n"
                  f"{info.started_at[:16].replace('T', ' ')} · {info.status} · {length} · "
                  f"{info.n_beats} beats · {n_artifacts} artifacts corrected · "
                  f"{int((~usable).sum())} without skin contact\n"
                  f"{textwrap.fill(_source_line(info), REPORT_LINE_CHARS)}",
                  fontsize=10)
    tach = page.add_axes((0.1, 0.6, 0.78, 0.28))
    tach.set_gid("tachogram-axes")
    end_min = max((phase.end_s for phase in phases), default=0.0) / 60 or 1.0
    row = 0
    for phase in phases:
        tach.axvspan(phase.start_s / 60, phase.end_s / 60, color=_phase_colour(phase.index),
                     alpha=0.12, lw=0)
        # a name that does not fit its phase shrinks to the phase's number, and a number that
        # still does not fit takes the upper row, so labels never run into each other
        width_frac = (phase.end_s - phase.start_s) / 60 / end_min
        label = f"{phase.index + 1}. {phase.name}"
        if _label_frac(label) > width_frac:
            label = f"{phase.index + 1}."
        row = 1 - row if _label_frac(label) > width_frac else 0
        tach.text((phase.start_s + phase.end_s) / 120, 1.01 + 0.05 * row, label,
                  transform=tach.get_xaxis_transform(), ha="center", va="bottom", fontsize=8,
                  gid=f"phase-label-{phase.index}")
    tach.plot(time_min, rr, color="#333333", lw=0.7, gid="tachogram", label="RR interval")
    if n_artifacts:
        tach.plot(time_min[artifact], rr[artifact], "x", color="#d62828", ms=5, gid="artifacts",
                  label=f"artifact ({n_artifacts}, corrected)")
    if (~usable).any():
        tach.plot(time_min[~usable], rr[~usable], "o", mfc="none", color="#888888", ms=4,
                  gid="no-contact", label="no skin contact (left out)")
    for gap_t in time_min[np.asarray(beats.after_gap, dtype=bool)]:
        tach.axvline(gap_t, color="#888888", ls=":", lw=0.8)
    for number, segment in enumerate(store.movement(info.id)):  # left out of the vagal markers
        tach.axvspan(segment.start_s / 60, segment.end_s / 60, ymin=0.0, ymax=0.06,
                     color="#e07a5f", alpha=0.9, lw=0, gid=f"movement-{number}",
                     label=None if number else "moving (left out of vagal markers)")
        tach.axvspan(segment.start_s / 60, segment.end_s / 60, color="#e07a5f", alpha=0.10, lw=0)
        tach.text((segment.start_s + segment.end_s) / 120, 0.065, segment.kind, fontsize=7,
                  ha="center", va="bottom", color="#b5532f", transform=tach.get_xaxis_transform())
    notes = [a for a in store.annotations(info.id) if a.kind in ("note", "pacing")]
    for number, note in enumerate(notes, start=1):
        mark = note.kind == "note"
        tach.axvline(note.time_s / 60, color="#7a5cc4" if mark else "#3a7ca5",
                     ls="-" if mark else "--", lw=1.0, gid=f"{note.kind}-{number}",
                     label=None if number > 1 else "your marks and pacing changes")
        tach.text(note.time_s / 60, 0.98, f"{'✎' if mark else '♪'}{number}",
                  transform=tach.get_xaxis_transform(), fontsize=7, ha="left", va="top",
                  color="#7a5cc4" if mark else "#3a7ca5")
    if notes:
        page.text(0.1, 0.535, "; ".join(f"{'✎' if n.kind == 'note' else '♪'}{i} "
                                        f"{n.time_s / 60:.1f} min: {n.text}"
                                        for i, n in enumerate(notes, start=1))[:400],
                  fontsize=7, wrap=True, gid="notes-text")
    tach.set_xlabel("session time (min)")
    tach.set_ylabel("RR interval (ms)")
    tach.grid(alpha=0.3)
    tach.legend(loc="lower right", fontsize=8)
    if rr.size:  # every beat in view, artifacts included: they are what the marks point at
        pad = 0.05 * float(rr.max() - rr.min()) + 20
        tach.set_ylim(float(rr.min()) - pad, float(rr.max()) + pad)
    hr_axis = tach.secondary_yaxis("right", functions=(lambda v: 60_000 / np.maximum(v, 1),
                                                       lambda v: 60_000 / np.maximum(v, 1)))
    hr_axis.set_ylabel("heart rate (bpm)")

    table_axes = page.add_axes((0.25, 0.07, 0.71, 0.44))
    table_axes.axis("off")
    table_axes.set_gid("markers-table-axes")
    columns = [f"{data.phase.index + 1}. {data.phase.name}\n[{data.phase.kind}"
               f"{', ' + data.phase.compare if data.phase.compare else ''}]"
               for data in analysis.phases]
    shown = (*_TABLE_MARKERS, *(_RAW_TABLE_MARKERS if getattr(info, "raw_data", False) else ()))
    cells = [[format_marker(key, markers.get(data.phase.index, {}).get(key))
              for data in analysis.phases] for key in shown]
    cells.append(["HF valid" if markers.get(d.phase.index, {}).get("hf_valid") else
                  "HF not valid" for d in analysis.phases])  # the note below says why
    cells.append(["\n".join(([] if d.quality.valid else ["HRV not valid"]) +
                            [reason.split(" of beats")[0].split(" (")[0]
                             for reason in d.unreliable()]) or "ok"
                  for d in analysis.phases])
    rows = [marker(key).with_unit() for key in shown] + ["HF validity", "reliability"]
    if columns:
        table = table_axes.table(cellText=cells, rowLabels=rows, colLabels=columns,
                                 cellLoc="center", bbox=(0.0, 0.0, 1.0, 1.0))
        table.set_gid("markers-table")
        table.auto_set_font_size(False)
        table.set_fontsize(7.5 if len(columns) <= 4 else 6.5)
        for col, data in enumerate(analysis.phases):
            if data.unreliable() or not data.quality.valid:
                table[len(rows), col].set_facecolor("#fde2e2")
    table_axes.set_title("Markers per phase (from artifact-corrected beats)", fontsize=10,
                         loc="left")
    page.text(0.04, 0.025, textwrap.fill(
        "HF is not valid when the breathing rhythm is not wholly inside HF: slow breathing moves "
        "it into LF, so HF falls while vagal activity rises (see RMSSD).", REPORT_LINE_CHARS + 10),
        fontsize=8, gid="hf-note")


def _page_details(page: Any, analysis: Any, markers: dict[int, Any], comparison: Any,
                  comparison_error: str) -> None:
    """Page 2: spectra per phase, before/after with intervals, Poincaré plot."""
    import numpy as np

    from hrvcoach.analysis.spectral import rr_spectrum
    from hrvcoach.core.constants import HF_BAND_HZ, LF_BAND_HZ

    spectra = page.add_axes((0.1, 0.6, 0.85, 0.33))
    spectra.set_gid("spectra-axes")
    spectra.axvspan(*LF_BAND_HZ, color="#81b29a", alpha=0.12, lw=0)
    spectra.axvspan(*HF_BAND_HZ, color="#3a7ca5", alpha=0.08, lw=0)
    spectra.text(sum(LF_BAND_HZ) / 2, 0.97, "LF", transform=spectra.get_xaxis_transform(),
                 ha="center", va="top", fontsize=8)
    spectra.text(sum(HF_BAND_HZ) / 2, 0.97, "HF", transform=spectra.get_xaxis_transform(),
                 ha="center", va="top", fontsize=8)
    for data in analysis.phases:
        if data.rr_ms.size < 4 or data.duration_s < SPECTRUM_MIN_S:
            continue
        spectrum = rr_spectrum(data.rr_ms)
        keep = spectrum.frequency_hz <= 0.5
        rate = markers.get(data.phase.index, {}).get("breaths_per_min")
        label = f"{data.phase.index + 1}. {data.phase.name}"
        if rate is not None and math.isfinite(rate):
            label += f" (breathing {rate:.1f}/min)"
        if data.duration_s < 60:
            label += f" — only {data.duration_s:.0f} s: rough"
        spectra.plot(spectrum.frequency_hz[keep], spectrum.psd_ms2_per_hz[keep],
                     color=_phase_colour(data.phase.index), lw=1.2, label=label,
                     gid=f"spectrum-{data.phase.index}")
    spectra.set_xlim(0, 0.5)
    spectra.set_yscale("log")
    spectra.set_xlabel("frequency (Hz)")
    spectra.set_ylabel("power spectral density (ms²/Hz)")
    spectra.set_title("RR spectrum per phase (Welch, 4 Hz resampling)", fontsize=10, loc="left")
    spectra.grid(alpha=0.3)
    if spectra.get_lines():
        spectra.legend(fontsize=8)
    else:  # a session too short for any spectrum: say so rather than show an empty plot
        spectra.text(0.5, 0.5, "no phase is long enough for a spectrum", ha="center",
                     va="center", transform=spectra.transAxes, fontsize=9, color="0.35")

    forest = page.add_axes((0.2, 0.13, 0.3, 0.37))
    forest.set_gid("before-after-axes")
    if comparison is not None:
        changes = [c for c in comparison.changes if c.spec.name != "ln_rmssd"]
        y = np.arange(len(changes))[::-1]
        for yi, change in zip(y, changes, strict=True):
            if not math.isfinite(change.pct):
                forest.text(0, yi, change.note[:40] or "not computable", fontsize=7, va="center",
                            ha="center", color="#666666")
                continue
            low, high = change.pct_low, change.pct_high
            calmer = change.clear and (change.delta > 0) == (change.spec.calmer == "up")
            colour = "#2a9d8f" if calmer else "#d62828" if change.clear else "#6c757d"
            if math.isfinite(low) and math.isfinite(high):
                forest.plot([low, high], [yi, yi], color=colour, lw=2)
            forest.plot([change.pct], [yi], "o", color=colour, gid=f"change-{change.spec.name}")
        forest.axvline(0, color="#333333", lw=0.8)
        forest.set_yticks(y, [f"{c.spec.label}\n{format_marker(c.spec.name, c.before)} → "
                              f"{format_marker(c.spec.name, c.after)}"
                              f"{' ' + c.spec.unit if c.spec.unit else ''}" for c in changes],
                          fontsize=7.5)
        forest.set_xlabel("change after vs before (%), with 95 % interval")
        before, after = comparison.before, comparison.after
        flag = " (unreliable)" if before.unreliable or after.unreliable else ""
        forest.set_title(f"{before.phase_name} → {after.phase_name}{flag}", fontsize=10, loc="left")
        forest.grid(axis="x", alpha=0.3)
        page.text(0.04, 0.035, "verdict: " + comparison.verdict(), fontsize=9, ha="left", wrap=True)
    else:
        forest.axis("off")
        forest.text(0.5, 0.5, "no before/after comparison:\n" + textwrap.fill(
            comparison_error, 38), ha="center", va="center", fontsize=8,
            gid="no-comparison")  # wrapped to stay within its half of the page

    poincare = page.add_axes((0.6, 0.13, 0.36, 0.37))
    poincare.set_gid("poincare-axes")
    for data in analysis.phases:
        rr = data.rr_ms
        if rr.size < 3:
            continue
        keep = ~data.after_gap[1:]
        values = markers.get(data.phase.index, {})
        poincare.scatter(rr[:-1][keep], rr[1:][keep], s=4, alpha=0.5,
                         color=_phase_colour(data.phase.index), gid=f"poincare-{data.phase.index}",
                         label=f"{data.phase.index + 1}. "
                               f"SD1 {format_marker('sd1_ms', values.get('sd1_ms'))}, "
                               f"SD2 {format_marker('sd2_ms', values.get('sd2_ms'))} ms")
    poincare.axline((600, 600), slope=1, color="#999999", lw=0.8, ls="--")
    poincare.set_aspect("equal", adjustable="datalim")
    poincare.set_xlabel("RR[n] (ms)")
    poincare.set_ylabel("RR[n+1] (ms)")
    poincare.set_title("Poincaré plot", fontsize=10, loc="left")
    poincare.legend(fontsize=7, markerscale=3)
    poincare.grid(alpha=0.3)


def _label_frac(text: str, fontsize: float = 8.0, axes_width_pt: float = 0.78 * 8.27 * 72) -> float:
    """About how much of the tachogram's width a label takes (DejaVu Sans: ~0.6 em a char)."""
    return len(text) * 0.6 * fontsize / axes_width_pt


def _source_line(info: Any) -> str:
    """What the report knows of where the beats came from."""
    from pathlib import PurePath

    match info.source:
        case "ble":
            return f"measured on a strap: {info.device or 'a Bluetooth strap'}"
        case "simulator":
            return "a demo: the simulated strap, not a person's heart"
        case "replay":
            return f"a replay of {info.device.removeprefix('replay of ') or 'a recording'}"
        case "import":
            laid = "" if info.protocol == "import" else (
                f"; the phases of {info.protocol} were laid over it afterwards (a plan, not "
                "paced by hrvcoach: breathing rates are measured)")
            return f"imported from {PurePath(info.origin).name or 'a file'}{laid}"
        case _:
            return f"source: {info.source}"


def session_report_figures(store: Any, session_id: int) -> list[Figure]:
    """The report's two A4 pages."""
    from hrvcoach.history.compare import compare, session_phase_data

    info = store.session(session_id)
    analysis = session_phase_data(store, session_id)
    markers = store.markers(session_id)
    try:
        comparison, error = compare(store, session_id), ""
    except InputError as exc:
        comparison, error = None, exc.problem
    pages = [plt.figure(figsize=A4_PORTRAIT_IN) for _ in range(2)]
    _page_summary(pages[0], store, info, analysis, markers)
    _page_details(pages[1], analysis, markers, comparison, error)
    return pages


def write_session_report(store: Any, session_id: int, path: Path) -> Path:
    """A PDF (two pages) or a PNG (both pages, one above the other) of one session."""
    suffix = path.suffix.lower()
    if suffix not in (".pdf", ".png"):
        raise InputError(str(path), "the report is a .pdf or .png file")
    figures = session_report_figures(store, session_id)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if suffix == ".pdf":
            from matplotlib.backends.backend_pdf import PdfPages

            with PdfPages(path, metadata={"Title": f"hrvcoach session {session_id}",
                                          "Creator": "hrvcoach"}) as pdf:
                for figure in figures:
                    pdf.savefig(figure)
        else:
            import numpy as np

            images = []
            for figure in figures:
                figure.set_dpi(REPORT_PNG_DPI)
                figure.canvas.draw()
                images.append(np.asarray(cast(FigureCanvasAgg, figure.canvas).buffer_rgba()))
            plt.imsave(path, np.concatenate(images, axis=0))
    except OSError as exc:
        raise InputError(str(path), f"cannot write the report ({exc})") from None
    finally:
        for figure in figures:
            plt.close(figure)
    return path


def trends_figure(trends: Any, *, demo: bool = False) -> Figure:
    """ln RMSSD per day with its 7-day baseline, the 60-day normal band and the flags; the 7-day
    CV; practice and high-coherence minutes per week. `demo`: the trends include simulated or
    replayed sessions, and the chart says so."""
    import datetime as dt

    figure, (main, cv, weekly) = plt.subplots(3, 1, figsize=(10, 9), layout="constrained",
                                              height_ratios=[2.2, 1.0, 1.2], sharex=True)
    days = trends.days
    dates = [d.date for d in days]
    main.set_gid("trend-axes")
    if days:
        main.plot(dates, [d.ln_rmssd for d in days], "o", color="#3a7ca5", ms=4, gid="daily",
                  label="ln RMSSD, morning baseline")
        baseline = [math.nan if d.baseline_7d is None else d.baseline_7d for d in days]
        main.plot(dates, baseline, "-", color="#1d3557", lw=2, gid="baseline-7d",
                  label="7-day average")
        low = [math.nan if d.band_low is None else d.band_low for d in days]
        high = [math.nan if d.band_high is None else d.band_high for d in days]
        main.fill_between(dates, low, high, color="#81b29a", alpha=0.3, gid="band", lw=0,
                          label="normal band (60-day mean ± 0.5 SD)")
        flagged = [d for d in days if d.flag is not None]
        if flagged:
            main.plot([d.date for d in flagged], [d.baseline_7d for d in flagged], "v",
                      color="#d62828", ms=8, gid="flags", label="7-day average outside the band")
        main.legend(fontsize=8, loc="best")
    else:
        main.text(0.5, 0.5, "no baseline measurements yet", transform=main.transAxes, ha="center")
    main.set_ylabel("ln RMSSD (ln ms)")
    main.set_title(("DEMO (simulated or replayed sessions, not your heart): " if demo else "")
                   + "Resting HRV trend (morning-check sessions preferred)", fontsize=11,
                   loc="left", color="#d62828" if demo else "black")
    main.grid(alpha=0.3)

    cv.plot(dates, [math.nan if d.cv_7d_pct is None else d.cv_7d_pct for d in days], "-",
            color="#e07a5f", gid="cv-7d")
    cv.set_ylabel("7-day CV (%)")
    cv.set_title("Day-to-day variation of ln RMSSD (coefficient of variation over 7 days)",
                 fontsize=9, loc="left")
    cv.grid(alpha=0.3)

    weeks = trends.weeks
    mondays = [w.monday for w in weeks]
    width = dt.timedelta(days=2.8)
    weekly.bar([m - dt.timedelta(days=1.5) for m in mondays], [w.practice_min for w in weeks],
               width=width, color="#3a7ca5", label="paced practice", gid="practice", align="edge")
    weekly.bar([m + dt.timedelta(days=1.5) for m in mondays], [w.high_coherence_min for w in weeks],
               width=width, color="#2a9d8f", label="high coherence", gid="coherence", align="edge")
    weekly.set_ylabel("minutes per week")
    weekly.set_title("Practice per week (bars start on the week's Monday)", fontsize=9, loc="left")
    weekly.legend(fontsize=8)
    weekly.grid(axis="y", alpha=0.3)
    for axis in (main, cv, weekly):
        axis.tick_params(axis="x", labelsize=8)
    return figure


def write_trends_chart(trends: Any, path: Path, *, demo: bool = False) -> Path:
    figure = trends_figure(trends, demo=demo)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, dpi=100)
    except OSError as exc:
        raise InputError(str(path), f"cannot write the chart ({exc})") from None
    finally:
        plt.close(figure)
    return path
