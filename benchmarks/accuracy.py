"""Accuracy against known truth, beside neurokit2's Kubios method on the same inputs (issue 12).

    .venv/bin/python benchmarks/accuracy.py        # about 35 s on 2 cores

One table: artifact detection and correction (synthetic RSA, artifacts injected into clean
recordings, mitdb_100's annotated premature beats), live against batch and against the truth
over sliding windows, the rhythm-quality gate, band powers and breathing markers against
synthetic truth (with the sinc² gain of beat sampling), coherence, and the per-beat cost of the
live markers with correction on. neurokit2 runs `signal_fixpeaks(method="Kubios")` with its
default iterative=True for its correction (the flags counted are its first pass's: iterative
mode reports only the last pass) and `hrv_frequency(normalize=False, interpolation_rate=4)`.
RMSSD of hrvcoach's corrections leaves out the differences next to a moved beat (as its markers
do); neurokit2's uses every difference of its corrected series.

Recordings from ../shared/data are used when present; a missing one is skipped with a message.
"""

from __future__ import annotations

import math
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from common import machine_line  # noqa: E402  (benchmarks/, the script's own folder)

from hrvcoach.analysis import (  # noqa: E402
    LiveMarkers,
    analyze,
    correct_artifacts,
    detect_artifacts,
    resample_rr,
    rmssd_ms,
    spectrum_of,
    time_markers,
)
from hrvcoach.analysis.artifacts import Correction  # noqa: E402
from hrvcoach.analysis.breathing import breathing_markers  # noqa: E402
from hrvcoach.analysis.coherence import coherence_markers, coherence_summary  # noqa: E402
from hrvcoach.analysis.spectral import frequency_markers, power_between_ms2  # noqa: E402
from hrvcoach.core.errors import InputError  # noqa: E402
from hrvcoach.files.rr_files import read_rr_file  # noqa: E402
from hrvcoach.protocols.pacer import Pacer  # noqa: E402
from hrvcoach.protocols.protocol import load_protocol  # noqa: E402
from hrvcoach.sources.simulator import SimulatedPerson, simulate_beats  # noqa: E402
from tests.known_truth import (  # noqa: E402
    beats_of,
    breathing_rr,
    demo_session,
    gudb_sitting,
    inject,
    joined,
    mitdb_beats,
    nn_rmssd_ms,
    power_truth_ms2,
    recall_and_precision,
    rsa_grid,
    sampled_sinusoid_rr,
)

DATA = REPO.parent / "shared" / "data"
Row = tuple[str, str, str, str]  # case, hrvcoach, neurokit2, goal


def _nk() -> ModuleType:
    import neurokit2

    return neurokit2


def nk_correct(rr: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """neurokit2's Kubios method: the RR of its correction (iterative=True, its default) and
    the intervals its first pass flags (with iterative=True it reports only the last pass)."""
    nk = _nk()
    peaks = nk.intervals_to_peaks(np.round(rr), sampling_rate=1000)
    flags: list[int] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, clean = nk.signal_fixpeaks(peaks, sampling_rate=1000, iterative=True, method="Kubios")
        info, _ = nk.signal_fixpeaks(peaks, sampling_rate=1000, iterative=False, method="Kubios")
    flags = sorted({int(j) - 1 for kind in ("ectopic", "missed", "extra", "longshort")
                    for j in info[kind]})
    return np.diff(np.asarray(clean, dtype=np.float64)), flags


def ours_rmssd(correction: Correction) -> float:
    return time_markers(correction.rr_ms, correction.skip_difference).rmssd_ms


def pct(value: float) -> str:
    return f"{100.0 * value:+.1f} %"


def recording(relative: str) -> np.ndarray | None:
    path = DATA / relative
    if not path.exists():
        print(f"# skipped: {path} missing", file=sys.stderr)
        return None
    return read_rr_file(path).rr_ms


# -- artifacts ----------------------------------------------------------------------------


def rsa_rows() -> Iterator[Row]:
    intervals = ours = nk = paper = 0
    for hr, rate, amplitude in rsa_grid():
        for noise in (0.0, 3.0):
            rr = breathing_rr(hr, rate, amplitude, 300.0, noise_ms=noise, seed=1)
            intervals += rr.size
            ours += len(correct_artifacts(rr).indices)
            paper += detect_artifacts(rr, bounded=False).count
            nk += len(nk_correct(rr)[1])
    yield (f"synthetic RSA, false flags ({intervals} clean intervals; HR 50-90, 4.5-15/min, "
           "3/4/5 beats per breath, 20-150 ms)", f"{100 * ours / intervals:.2f} %",
           f"{100 * nk / intervals:.2f} % (our copy of the paper's: {100 * paper / intervals:.2f} %)",
           "< 0.2 %")
    rr = sampled_sinusoid_rr(60.0, 15.0, 25.0, 300.0)
    yield ("the issue's sinusoid, 15/min at 60 bpm, flagged intervals",
           f"{len(correct_artifacts(rr).indices)} of {rr.size}",
           f"{len(nk_correct(rr)[1])} of {rr.size}", "0")


def injected_rows() -> Iterator[Row]:
    gudb_path = DATA / "gudb_rpeaks_250hz" / "original"
    cases: dict[str, list[np.ndarray]] = {}
    for name, relative in (("Polar H10 breathing", "polar_h10_breathing_10min/rr.csv"),
                           ("Bartels rest", "polar_rri_bartels_hrv/rest_rri_rr.csv")):
        rr = recording(relative)
        if rr is not None:
            cases[name] = [rr]
    if gudb_path.exists():
        cases["GUDB sitting (25 x 2 min)"] = gudb_sitting(gudb_path)
    for name, parts in cases.items():
        clean, gap = joined(parts)
        reference = ours_rmssd(correct_artifacts(clean, after_gap=gap))
        ours_rp, nk_rp, ours_err, nk_err = [], [], [], []
        for seed in range(4):
            pieces, truth, offset = [], [], 0
            nk_flags: list[int] = []
            nk_rr: list[np.ndarray] = []
            for part in parts:
                bad, where = inject(part, seed)
                pieces.append(bad)
                truth += [t + offset for t in where]
                corrected, flags = nk_correct(bad)
                nk_flags += [f + offset for f in flags]
                nk_rr.append(corrected)
                offset += bad.size
            bad, bad_gap = joined(pieces)
            correction = correct_artifacts(bad, after_gap=bad_gap if len(parts) > 1 else None)
            ours_rp.append(recall_and_precision(list(correction.indices), truth))
            nk_rp.append(recall_and_precision(nk_flags, truth))
            ours_err.append(ours_rmssd(correction) / reference - 1.0)
            nk_all, nk_gap = joined(nk_rr)
            nk_err.append(time_markers(nk_all, nk_gap).rmssd_ms
                          / time_markers(clean, gap).rmssd_ms - 1.0)

        def cell(rp: list[tuple[float, float]], errors: list[float]) -> str:
            return (f"recall {min(r for r, _ in rp):.2f}, precision {min(p for _, p in rp):.2f}, "
                    f"RMSSD {pct(min(errors))}..{pct(max(errors))}")

        yield (f"{name}, artifacts injected every ~30 beats (4 seeds; worst)",
               cell(ours_rp, ours_err), cell(nk_rp, nk_err), ">= 0.95, >= 0.95, within 3 %")


def clean_rows() -> Iterator[Row]:
    for name, relative in (("Bartels rest (\"no ectopic beat\")",
                            "polar_rri_bartels_hrv/rest_rri_rr.csv"),
                           ("pyhrv NSRDB NN, 60 min", "pyhrv_samples/nsrdb_nni_60min_rr.csv")):
        rr = recording(relative)
        if rr is None:
            continue
        correction = correct_artifacts(rr)
        nk_rr, nk_flags = nk_correct(rr)
        yield (f"{name}: flags, RMSSD changed by correction",
               f"{len(correction.indices)}, {pct(ours_rmssd(correction) / rmssd_ms(rr) - 1.0)}",
               f"{len(nk_flags)}, {pct(rmssd_ms(nk_rr) / rmssd_ms(rr) - 1.0)}",
               "<= 3 %" if "Bartels" in name else "")


def mitdb_rows() -> Iterator[Row]:
    path = DATA / "mitdb_100" / "100_beats_rr.csv"
    if not path.exists():
        return
    rr, nn, premature = mitdb_beats(path)
    correction = correct_artifacts(rr)
    nk_rr, nk_flags = nk_correct(rr)
    recall, precision = recall_and_precision(list(correction.indices), premature)
    nk_recall, nk_precision = recall_and_precision(nk_flags, premature)
    yield ("mitdb_100, 34 annotated premature beats: recall, precision, RMSSD (NN: 27.8 ms)",
           f"{recall:.2f}, {precision:.2f}, {ours_rmssd(correction):.1f} ms",
           f"{nk_recall:.2f}, {nk_precision:.2f}, {rmssd_ms(nk_rr):.1f} ms", "")
    times = np.cumsum(rr) / 1000.0
    batch_times = times[correction.source_index] + correction.shift_ms / 1000.0
    live = LiveMarkers(correct_artifacts=True)
    to_truth, to_batch, exact, premature_windows, off_20 = [], [], 0, 0, 0
    premature_set = set(premature)
    for beat in beats_of(rr):
        markers = live.update(beat)
        now = beat.time_s
        if now < 60.0:
            continue
        window = np.flatnonzero((times > now - 60.0) & (times <= now))
        truth = nn_rmssd_ms(rr, nn, window)
        in_batch = (batch_times > now - 60.0) & (batch_times <= now)
        batch = time_markers(correction.rr_ms[in_batch],
                             correction.skip_difference[in_batch]).rmssd_ms
        to_truth.append(markers.rmssd_ms / truth - 1.0)
        to_batch.append(markers.rmssd_ms / batch - 1.0)
        exact += abs(markers.rmssd_ms - batch) <= 1e-9 * batch
        if premature_set.intersection(window.tolist()):
            premature_windows += 1
            off_20 += abs(to_truth[-1]) > 0.2
    errors = np.abs(to_truth)
    yield (f"mitdb_100 replayed live, {errors.size} 60-s windows (one per beat): RMSSD vs "
           "annotated NN", f"within 10 % in {np.mean(errors <= 0.1) * 100:.1f} % (median "
           f"{np.median(errors) * 100:.1f} %, max {errors.max() * 100:.0f} %); > 20 % off in "
           f"{off_20} of {premature_windows} with a premature beat",
           "(no streaming form)", "every window within 10 %")
    to_batch_abs = np.abs(to_batch)
    yield ("mitdb_100 live vs batch of the same window (batch: the whole record)",
           f"exact in {exact / to_batch_abs.size * 100:.1f} %, within 1 % in "
           f"{np.mean(to_batch_abs <= 0.01) * 100:.1f} %, max {to_batch_abs.max() * 100:.1f} %",
           "", "within 1 % (exact where final)")


def demo_rows() -> Iterator[Row]:
    live_batch, live_truth, first_minute, jumped = [], [], [], 0
    for seed in range(1, 21):
        session = demo_session(seed, seconds=600.0)
        clean = demo_session(seed, artifacts_per_min=0.0, seconds=600.0)
        clean_rr = np.array([s.beat.rr_ms for s in clean])
        clean_t = np.array([s.beat.time_s for s in clean])
        rr = np.array([s.beat.rr_ms for s in session])
        times = np.array([s.beat.time_s for s in session])
        batch = correct_artifacts(rr)
        batch_t = times[batch.source_index] + batch.shift_ms / 1000.0
        live = LiveMarkers(correct_artifacts=True)
        ratios = []
        for simulated in session:
            markers = live.update(simulated.beat)
            now = simulated.beat.time_s
            if now < 60.0:
                first_minute.append(markers.rmssd_ms if now > 10.0 else math.nan)
                continue
            window = (batch_t > now - 60.0) & (batch_t <= now)
            expected = time_markers(batch.rr_ms[window], batch.skip_difference[window]).rmssd_ms
            ratios.append(markers.rmssd_ms / expected)
            live_truth.append(markers.rmssd_ms / rmssd_ms(clean_rr[(clean_t > now - 60.0)
                                                                   & (clean_t <= now)]))
        live_batch += ratios
        jumped += max(ratios) > 1.06
    yield ("the demo, 4 artifacts/min, seeds 1-20, 10 min (every beat from 60 s): live/batch, "
           "live/truth, first-minute max; seeds where live/batch passes 1.06 at some beat",
           f"{min(live_batch):.2f}..{max(live_batch):.2f}, "
           f"{min(live_truth):.2f}..{max(live_truth):.2f}, {np.nanmax(first_minute):.0f} ms; "
           f"{jumped} of 20", "", "within 15 %, never 2x (was 429 ms in minute 1); none")


def gate_rows() -> Iterator[Row]:
    for name, relative in (("Polar H10 PVC/bigeminy", "polar_h10_pvc_10min/polar_h10_device_rr.csv"),
                           ("GUDB R-peak sample positions",
                            "gudb_rpeaks_250hz/original/subject_00/sitting/annotation_cs.tsv"),
                           ("mitdb_100", "mitdb_100/100_beats_rr.csv"),
                           ("Polar H10 breathing", "polar_h10_breathing_10min/rr.csv")):
        try:
            rr = recording(relative)
        except InputError as error:  # sample positions are refused when read, before any gate
            yield (f"rhythm-quality gate, {name}", f"refused when read: {error.problem}",
                   "(none)", "refused or not valid")
            continue
        if rr is None:
            continue
        quality = analyze(rr).quality
        verdict = "valid" if quality.valid else "NOT valid: " + "; ".join(
            reason.split(" — ")[0] for reason in quality.reasons)
        yield (f"rhythm-quality gate, {name}", verdict, "(none)",
               "not valid" if "PVC" in name else "valid")


# -- spectra ------------------------------------------------------------------------------


def nk_lf_hf(rr: np.ndarray) -> tuple[float, float]:
    nk = _nk()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = nk.hrv_frequency({"RRI": rr, "RRI_Time": np.cumsum(rr) / 1000.0},
                               normalize=False, interpolation_rate=4)
    return float(out["HRV_LF"].iloc[0]), float(out["HRV_HF"].iloc[0])


def spectral_rows() -> Iterator[Row]:
    for window_s in (120.0, 300.0):
        breath_err, narrow_err, total_err, nk_err = [], [], [], []
        valid_share, invalid_share, old_valid_share = [], [], []
        for rate in (4.5, 6.0, 7.5, 9.0, 9.5, 10.0, 10.5, 11.0, 11.5, 12.0, 13.5, 15.0):
            rr = breathing_rr(60.0, rate, 50.0, window_s + 30.0)
            ends = np.cumsum(rr) / 1000.0
            rr = rr[ends > ends[-1] - window_s]
            resampled = resample_rr(rr)
            spectrum = spectrum_of(resampled)
            breathing = breathing_markers(spectrum, resampled, paced_breaths_per_min=rate)
            frequency = frequency_markers(spectrum)
            truth = power_truth_ms2(60.0, rate, 50.0)
            breath_err.append(breathing.breathing_power_ms2 / truth - 1.0)
            narrow = power_between_ms2(spectrum, rate / 60 - 0.015, rate / 60 + 0.015)
            narrow_err.append(narrow / truth - 1.0)
            in_hf = frequency.hf_ms2 / (frequency.lf_ms2 + frequency.hf_ms2)
            total_err.append((frequency.lf_ms2 + frequency.hf_ms2) / truth - 1.0)
            lf, hf = nk_lf_hf(rr)
            nk_err.append((lf + hf) / truth - 1.0)
            (valid_share if breathing.hf_valid else invalid_share).append(in_hf)
            if rate > 9.0:  # the rule before issue 12: valid above 9/min, whatever the window
                old_valid_share.append(in_hf)

        def spread(errors: list[float]) -> str:
            return f"{pct(min(errors))}..{pct(max(errors))}"

        minutes = f"{window_s / 60:.0f}-min windows"
        yield (f"power at the breathing rate vs truth (sinc² gain), 4.5-15/min, {minutes}",
               spread(breath_err), f"(not computed; +-0.015 Hz: {spread(narrow_err)})",
               "the same at 2 and 5 min")
        apart = max(abs(a - b) for a, b in zip(total_err, nk_err, strict=True))
        yield (f"LF + HF vs truth, 4.5-15/min, {minutes} (apart by at most)", spread(total_err),
               f"{spread(nk_err)} ({apart * 100:.1f} % of truth)", "")
        yield (f"share of the breathing rhythm in HF where HF is called valid, 4.5-15/min, {minutes}",
               f"at least {min(valid_share) * 100:.1f} % (not valid: at most "
               f"{max(invalid_share) * 100:.1f} %)",
               f"(none; the old 9/min rule: at least {min(old_valid_share) * 100:.1f} %)",
               "the lobe inside HF")


def coherence_rows() -> Iterator[Row]:
    pure = coherence_markers(resample_rr(breathing_rr(60.0, 6.0, 50.0, 200.0)), max_blocks=1)
    yield ("coherence of a pure 6/min rhythm: ratio, hrvcoach score",
           f"{pure.coherence_ratio:.0f}, {pure.coherence_score:.1f}/100", "(none)",
           "the score reaches its top")
    free = np.array([s.beat.rr_ms for s in demo_free()])
    summary = coherence_summary(free)
    yield ("free breathing at 12/min (simulated, 5 min): time at low/medium/high coherence",
           f"{summary.low_coherence_pct:.0f}/{summary.medium_coherence_pct:.0f}/"
           f"{summary.high_coherence_pct:.0f} %", "(none)", "never high")
    rr = recording("polar_h10_breathing_10min/rr.csv")
    if rr is not None:
        summary = coherence_summary(correct_artifacts(rr).rr_ms)
        mean = coherence_markers(resample_rr(rr)).coherence_ratio
        yield ("Polar H10 slow breathing: session coherence (median of 64-s blocks)",
               f"{summary.coherence_ratio:.2f} (mean spectrum, before: {mean:.2f})", "(none)",
               "as live shows it (median ~5.5)")


def demo_free() -> list:
    import itertools

    pacer = Pacer.for_protocol(load_protocol("morning-check"))
    person = SimulatedPerson(spontaneous_breaths_per_min=12.0)
    return list(itertools.takewhile(lambda s: s.beat.time_s <= 300.0,
                                    simulate_beats(pacer, person, seed=1)))


# -- cost ---------------------------------------------------------------------------------


def cost_rows() -> Iterator[Row]:
    cases: dict[str, list] = {}
    for name, relative in (("Polar H10 10 min", "polar_h10_breathing_10min/rr.csv"),
                           ("NSRDB 1200 beats", "pyhrv_samples/nsrdb_nni_60min_rr.csv"),
                           ("mitdb_100 1200 beats", "mitdb_100/100_beats_rr.csv")):
        rr = recording(relative)
        if rr is not None:
            cases[name] = beats_of(rr[:1200])
    cases["simulator, 4 artifacts/min, 15 min"] = [s.beat for s in demo_session(3, seconds=900.0)]
    for name, beats in cases.items():
        medians = []
        for correct in (False, True):
            runs = []
            for _ in range(3):
                live = LiveMarkers(correct_artifacts=correct)
                spent = []
                for beat in beats:
                    start = time.perf_counter()
                    live.update(beat)
                    spent.append(time.perf_counter() - start)
                runs.append(statistics.median(spent[150:]) * 1e6)
            medians.append(min(runs))
        yield (f"live markers per beat, {name}: as recorded / corrected (median, best of 3)",
               f"{medians[0]:.0f} / {medians[1]:.0f} µs", "", "< ~1 ms corrected")


SECTIONS: tuple[Callable[[], Iterator[Row]], ...] = (
    rsa_rows, injected_rows, clean_rows, mitdb_rows, demo_rows, gate_rows, spectral_rows,
    coherence_rows, cost_rows)


def main() -> None:
    print(machine_line())
    nk = _nk()
    print(f"# numpy {np.__version__}, neurokit2 {nk.__version__}")
    print("| case | hrvcoach | neurokit2 | goal |")
    print("|---|---|---|---|")
    started = time.perf_counter()
    for section in SECTIONS:
        for case, ours, theirs, goal in section():
            print(f"| {case} | {ours} | {theirs} | {goal} |", flush=True)
    print(f"# {time.perf_counter() - started:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
