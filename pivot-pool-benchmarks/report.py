#!/usr/bin/env python3
"""Turns a JMH JSON result of benchmarks.jar into the Markdown tables of BENCHMARKS.md.

    python3 pivot-pool-benchmarks/report.py result.json > tables.md

Scores and errors are JMH's: the mean over all measurement iterations of all forks, and the
half-width of its 99.9% confidence interval. The ratio ours / peer carries the relative errors of
both scores added in quadrature: err(a/b) = (a/b) * sqrt((err_a/a)^2 + (err_b/b)^2). That treats the
two half-widths as independent standard errors; it is a readable approximation, not a new interval.
"""

import json
import math
import sys

CASES = [
    ("borrowReturn1Thread", "Borrow + return, 1 thread, pool of 10"),
    ("borrowReturn2Threads", "Borrow + return, 2 threads, pool of 10"),
    ("handOff2Threads", "Exhausted-pool hand-off, 2 threads, pool of 1"),
]

OURS = "PivotPoolBenchmark"

COORDINATED = "CoordinatedBorrowBenchmark"

REDISSON = "RedissonSemaphoreBenchmark"


def label(benchmark_class, params):
    if benchmark_class == OURS:
        return "**Pivot Pool (ours)**"
    if benchmark_class == "CommonsPool2Benchmark":
        return "commons-pool2 `GenericObjectPool`"
    if benchmark_class == "HikariBagBenchmark":
        return "HikariCP `ConcurrentBag`"
    if benchmark_class == "StormpotBenchmark":
        expiration = "`Expiration.never()`" if params.get("expiration") == "never" else "default expiration"
        tap = "`getThreadLocalTap()`" if params.get("tap") == "threadLocal" else "`pool.claim`"
        return "Stormpot, " + expiration + ", " + tap
    return benchmark_class + " " + str(params)


def order(benchmark_class, params):
    peers = [OURS, "StormpotBenchmark", "HikariBagBenchmark", "CommonsPool2Benchmark"]
    rank = peers.index(benchmark_class) if benchmark_class in peers else len(peers)
    return (rank, params.get("expiration", "") != "default", params.get("tap", "") != "pool")


def fmt(value, digits=1):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.{digits}f}"


def ratio(ours, peer):
    a, ea = ours
    b, eb = peer
    r = a / b
    if math.isnan(ea) or math.isnan(eb):
        return r, float("nan")
    return r, r * math.sqrt((ea / a) ** 2 + (eb / b) ** 2)


def verdict(r, err):
    if math.isnan(err):
        return "?"
    if r - err > 1:
        return "ahead"
    if r + err < 1:
        return "behind"
    return "within error"


def main(path):
    with open(path) as source:
        results = json.load(source)
    rows = {}
    for result in results:
        benchmark_class, method = result["benchmark"].split(".")[-2:]
        params = result.get("params") or {}
        primary = result["primaryMetric"]
        secondary = result.get("secondaryMetrics", {})
        alloc = secondary.get("gc.alloc.rate.norm", {}).get("score")
        hand_offs = secondary.get("handOffs")
        key = benchmark_class if benchmark_class in (COORDINATED, REDISSON) else method
        rows.setdefault(key, []).append({
            "class": benchmark_class,
            "method": method,
            "params": params,
            "score": (primary["score"], float(primary["scoreError"])),
            "alloc": alloc,
            "handOffs": (hand_offs["score"], float(hand_offs["scoreError"])) if hand_offs else None,
            "threads": result["threads"],
        })
    for method, title in CASES:
        entries = sorted(rows.get(method, []), key=lambda e: order(e["class"], e["params"]))
        if not entries:
            continue
        ours = next((e for e in entries if e["class"] == OURS), None)
        hand_off = any(e["handOffs"] for e in entries)
        print(f"### {title} (`{method}`, {entries[0]['threads']} thread(s))\n")
        header = "| pool | ops/µs ± 99.9% CI | B/op | ours ÷ peer ± err | ours vs peer |"
        rule = "|---|---:|---:|---:|---|"
        if hand_off:
            header += " hand-offs/µs ± CI | share handed off |"
            rule += "---:|---:|"
        print(header)
        print(rule)
        for e in entries:
            score, error = e["score"]
            line = f"| {label(e['class'], e['params'])} | {fmt(score)} ± {fmt(error)} | {fmt(e['alloc'], 2)} |"
            if ours is None or e is ours:
                line += " — | — |"
            else:
                r, err = ratio(ours["score"], e["score"])
                line += f" {fmt(r, 2)} ± {fmt(err, 2)} | {verdict(r, err)} |"
            if hand_off:
                if e["handOffs"]:
                    h, eh = e["handOffs"]
                    share = 100 * h / score
                    share_text = "< 0.01%" if share < 0.01 else f"{share:.2g}%"
                    line += f" {h:.2g} ± {eh:.2g} | {share_text} |"
                else:
                    line += " | |"
            print(line)
        print()
    cluster_cap(rows.get(COORDINATED, []), rows.get(REDISSON, []))


def sig(value, digits=3):
    """A score with `digits` significant digits, so that 0.00512 and 151.2 both read well."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.{digits}g}" if abs(value) < 10 ** digits else f"{value:.0f}"


def cluster_cap(coordinated, redisson):
    """Issues 4 and 7: the pool with Redis coordination next to NoOp (since issue 7 under a cluster-wide cap), and
    next to a Redisson semaphore enforcing the same cap."""
    methods = sorted({e["method"] for e in coordinated} | {e["method"] for e in redisson})
    for method in methods:
        cases = {}
        for e in coordinated:
            if e["method"] == method:
                cases[e["params"].get("coordination")] = e
        for e in redisson:
            if e["method"] == method:
                cases["redisson"] = e
        if not cases:
            continue
        threads = next(iter(cases.values()))["threads"]
        print(f"### Borrow + return while coordinating, {threads} thread(s), pool of 10 (`{method}`)\n")
        print("| how the cap is enforced | ops/µs ± 99.9% CI | µs/op | B/op |")
        print("|---|---:|---:|---:|")
        names = {
            "noop": "ours, no-op coordinator",
            "redis": "**ours, Redis coordinator** (synchronising every 100 ms)",
            "redisson": "Redisson `RSemaphore` acquire/release around each borrow",
        }
        for case in ("noop", "redis", "redisson"):
            if case in cases:
                score, error = cases[case]["score"]
                print(f"| {names[case]} | {sig(score)} ± {sig(error, 2)} | {sig(1 / score)} | {fmt(cases[case]['alloc'], 2)} |")
        print()
        if "redis" in cases and "noop" in cases:
            r, err = ratio(cases["redis"]["score"], cases["noop"]["score"])
            print(f"redis ÷ noop: **{fmt(r, 3)} ± {fmt(err, 3)}** (target ≥ 0.98)\n")
        if "redis" in cases and "redisson" in cases:
            r, err = ratio(cases["redis"]["score"], cases["redisson"]["score"])
            print(f"ours (redis) ÷ Redisson semaphore: **{r:,.0f} ± {err:,.0f}**\n")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: report.py JMH_RESULT.json")
    main(sys.argv[1])
