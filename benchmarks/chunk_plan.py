"""Work the chunk plan asks for: planned frames / signal frames by length.

``python -m benchmarks.chunk_plan`` prints, for the classic settings (10 s chunks, 1 s overlap,
5 edge frames each side), the number of chunks and the planned frames (chunks x chunk length)
over the signal's frames, for the plan the engine makes and for the previous plan (chunks of
exactly 10 s including the edges, the last one moved back to end at the last frame). Exact
arithmetic, no audio: the figures do not depend on the machine. Writes
``benchmarks/results/chunk_plan.json``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.measures import result_path, write_result
from neuralfx.chunking import _moved_back, plan_chunks
from neuralfx.engine import signal_plan
from neuralfx.settings import Settings
from neuralfx.spectral import n_frames

RESULT = result_path(__file__)
LENGTHS = (5.0, 10.006, 10.5, 20.0, 30.0, 60.0, 240.0, 3600.0)


def rows(settings: Settings, lengths: tuple[float, ...] = LENGTHS) -> list[dict]:
    edge = settings.edge_frames
    out = []
    for seconds in lengths:
        total = n_frames(int(round(seconds * settings.sample_rate)), settings.hop_length)
        now = signal_plan(settings, total)
        longest = max(settings.chunk_frames, settings.receptive_field)
        before = (plan_chunks(total + 2 * edge, longest, settings.overlap_frames,
                              settings.receptive_field) if total + 2 * edge <= longest
                  else _moved_back(total + 2 * edge, longest,
                                   min(settings.overlap_frames, longest // 2)))
        out.append({"seconds": seconds, "frames": total,
                    "chunks": len(now), "length": now.length,
                    "ratio": len(now) * now.length / total,
                    "chunks_before": len(before), "length_before": before.length,
                    "ratio_before": len(before) * before.length / total})
    return out


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seconds", type=float, nargs="+", default=list(LENGTHS))
    p.add_argument("--out", type=Path, default=RESULT, help="the result file (JSON)")
    return p


def main(argv: list[str] | None = None) -> str:
    args = parser().parse_args(argv)
    table = rows(Settings(), tuple(args.seconds))
    lines = ["| length | signal frames | chunks x frames | planned / signal | before: chunks x "
             "frames | before: planned / signal |", "|---|---|---|---|---|---|"]
    for r in table:
        lines.append(f"| {r['seconds']:g} s | {r['frames']} | {r['chunks']} x {r['length']} | "
                     f"**{r['ratio']:.2f}** | {r['chunks_before']} x {r['length_before']} | "
                     f"{r['ratio_before']:.2f} |")
    text = "\n".join(lines)
    print(text)
    write_result(args.out, {"settings": "classic (Settings())", "rows": table})
    return text


if __name__ == "__main__":
    main()
