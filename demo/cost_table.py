"""Print the README's cost comparison, recomputed from the catalog (`python -m demo.cost_table`)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from demo.cost_model import breakeven_tokens, compare, usd
from llm_shared.catalog import default_catalog

# The plan's appendix A: a dedicated GPU host at $1,290/month against three monthly workloads.
PLAN_GPU_MONTHLY_USD = "1290"
PLAN_WORKLOADS = (("Light", 1_000_000), ("Medium", 5_000_000), ("Heavy", 10_000_000))


def render() -> str:
    catalog = default_catalog()
    models = [catalog.for_tier(t) for t in ("small", "medium", "large")]
    lines = [
        "| Workload (tokens/month) | GPU host | " + " | ".join(f"Serverless {m.id}" for m in models) + " |",
        "|---|---|" + "---|" * len(models),
    ]
    for label, tokens in PLAN_WORKLOADS:
        cells = []
        for model in models:
            row = compare(model, tokens, PLAN_GPU_MONTHLY_USD)
            cells.append(f"{usd(row.serverless_pico)} ({row.savings_percent}% less)")
        gpu = compare(models[0], tokens, PLAN_GPU_MONTHLY_USD).gpu_pico
        lines.append(f"| {label} ({tokens:,}) | {usd(gpu)} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("Break-even (the GPU host becomes cheaper above): " + "; ".join(
        f"{m.id}: {breakeven_tokens(m, PLAN_GPU_MONTHLY_USD):,} tokens/month" for m in models) + ".")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="llm-cost-table", description=(__doc__ or "").splitlines()[0])
    parser.parse_args(argv)
    print(render())


if __name__ == "__main__":
    main()
