"""Latency figures for the benchmarks: nearest-rank percentiles and one summary line."""

from __future__ import annotations


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(q / 100 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


def summary(label: str, values_ms: list[float], width: int = 30) -> str:
    """``label n=.. p50=.. p95=.. p99=.. max=.. ms`` for a list of milliseconds."""
    v = sorted(values_ms)
    if not v:
        return f"{label:<{width}} n=0"
    return (f"{label:<{width}} n={len(v):<5} p50={percentile(v, 50):7.2f}  p95={percentile(v, 95):7.2f}  "
            f"p99={percentile(v, 99):7.2f}  max={v[-1]:7.2f} ms")
