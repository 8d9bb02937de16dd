"""The scaling plot: service time and the orjson parse floor against record size."""

from __future__ import annotations

from pathlib import Path
from typing import Any

GOAL_RATIO = 3.0


def scaling_plot(rows: list[dict[str, Any]], path: Path, *, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [row["resources"] for row in rows]
    floor = [row["floor_ms"] for row in rows]
    fig, (times, ratios) = plt.subplots(
        2, 1, figsize=(8, 7.5), sharex=True, gridspec_kw={"height_ratios": [3, 2]}
    )
    times.plot(sizes, floor, "o-", color="black", label="orjson.loads of the body (floor)")
    times.plot(
        sizes,
        [f * GOAL_RATIO for f in floor],
        ":",
        color="grey",
        label=f"{GOAL_RATIO:g} x floor (goal)",
    )
    times.plot(
        sizes,
        [row["inprocess_ms"] for row in rows],
        "s-",
        color="tab:blue",
        label="service, in process (parse + call_service + dumps)",
    )
    http = [(row["resources"], row["http_ms"]) for row in rows if row.get("http_ms") is not None]
    if http:
        times.plot(
            [s for s, _ in http],
            [max(v, 1e-3) for _, v in http],
            "^-",
            color="tab:orange",
            label="service over HTTP (latency minus empty-request latency)",
        )
    times.set_xscale("log")
    times.set_yscale("log")
    times.set_ylabel("milliseconds (median)")
    times.set_title(title, fontsize=10)
    times.grid(True, which="both", alpha=0.3)
    times.legend(fontsize=8)

    ratios.axhline(GOAL_RATIO, linestyle=":", color="grey", label="goal")
    ratios.plot(
        sizes,
        [row["inprocess_ratio"] for row in rows],
        "s-",
        color="tab:blue",
        label="in process / floor",
    )
    if http:
        ratios.plot(
            [row["resources"] for row in rows if row.get("http_ratio") is not None],
            [row["http_ratio"] for row in rows if row.get("http_ratio") is not None],
            "^-",
            color="tab:orange",
            label="HTTP / floor",
        )
    ratios.set_xscale("log")
    ratios.set_xlabel("resources in the prefetch Bundle")
    ratios.set_ylabel("x floor")
    ratios.set_ylim(bottom=0)
    ratios.grid(True, which="both", alpha=0.3)
    ratios.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
