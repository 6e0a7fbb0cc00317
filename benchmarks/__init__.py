"""Benchmarks as tools: one script per question, each run as ``python -m benchmarks.NAME``.

Each script writes one result file, ``benchmarks/results/NAME.json`` (a newer run replaces it,
or the entries it ran; git keeps the history), and ``--help`` says what it measures.
BENCHMARKS.md gives the current figures with the command behind each.

The shared code: :mod:`benchmarks.measures` (quality measures, machine facts, result files),
:mod:`benchmarks.signals` (synthetic, copyright-free test clips) and
:mod:`benchmarks.baseline` (the original notebook pipeline, re-implemented literally: the
reference the engine is measured against).
"""

# the scripts, each answering one question (module name = result file name)
SCRIPTS = (
    "real_music",  # presets against the literal pipeline on real recordings: time and quality
    "batch_throughput",  # files per hour, local against Ray workers; one long file on Ray
    "engine_vs_literal",  # the engine against the literal pipeline on synthetic clips, by part
    "objective_cost",  # one evaluation's cost by group size and style Gram factor
    "chunk_plan",  # planned frames over signal frames by length (exact, no audio)
    "demo",  # `neuralfx demo`: wall time and how close its outputs are to the style
    "preset_speed",  # render time of presets on synthetic clips (no audio files needed)
    "quality",  # classic against improved presets on synthetic pairs
    "report_overhead",  # a batch without and with its report page (sidecars, spectrograms)
    "full_band",  # the top octave (11 kHz up) of the presets' output against the style's
    "trained_styles",  # trained styles against the optimising presets; streaming; textures
    "streaming_phase",  # frame-by-frame phase reconstruction against offline Griffin-Lim
)
# the code they share
LIBRARY = ("measures", "signals", "baseline")
