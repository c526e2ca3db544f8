#!/usr/bin/env python3
"""myelin against PyTorch on the CPU: one epoch of the plain Fashion-MNIST MLP
(bench/specs/mlp_b*.json; bench/pytorch/mlp_epoch.py), at each batch size, the two interleaved
(their order alternating) for several repetitions. Prints each run, then the medians of samples/s
and of peak RSS and the ratio myelin/PyTorch; writes the table (Markdown) and every run (JSON)."""
import argparse
import csv
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def cpu_times():
    """The machine's CPU time counters (/proc/stat, first line), or None where there are none."""
    try:
        with open("/proc/stat") as f:
            return [int(v) for v in f.readline().split()[1:]]
    except OSError:
        return None


def stolen_share(before, after):
    """The share of CPU time the hypervisor gave to other guests between two cpu_times()."""
    if before is None or after is None or len(before) < 8:
        return 0.0
    delta = [a - b for a, b in zip(after, before)]
    total = sum(delta[:8])  # user nice system idle iowait irq softirq steal
    return delta[7] / total if total > 0 else 0.0


def run(command, cwd):
    """Runs a command; returns its standard output and its peak RSS in MiB (its own, from wait4)."""
    with tempfile.TemporaryFile() as out:
        process = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode(errors="replace")
    if process.returncode != 0:
        sys.exit(f"{' '.join(command)} failed (exit {process.returncode}):\n{text[-2000:]}")
    return text, usage.ru_maxrss / 1024.0


def run_myelin(myelin, batch, work, name):
    out_dir = os.path.join(work, name)
    spec = os.path.join(ROOT, "bench", "specs", f"mlp_b{batch}.json")
    _, rss = run([myelin, "train", "--spec", spec, "--out", out_dir], work)
    with open(os.path.join(out_dir, "metrics.csv")) as f:
        row = next(csv.DictReader(f))
    return float(row["samples_per_second"]), rss


def run_pytorch(batch, work):
    text, rss = run([sys.executable, os.path.join(HERE, "mlp_epoch.py"), "--batch", str(batch)],
                    work)
    return json.loads(text.strip().splitlines()[-1])["samples_per_second"], rss


def run_sgemm_limit(bench, batch, work):
    """The SGEMM-bound limit of a training step at this batch (bench_cpu_ops sgemm_mlp_step):
    samples/s of the step's matrix products alone."""
    text, _ = run([bench, f"--benchmark_filter=^sgemm_mlp_step/{batch}/", "--benchmark_min_time=1",
                   "--benchmark_format=json"], work)
    result = json.loads(text[text.index("{"):])
    return result["benchmarks"][0]["items_per_second"]


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--myelin", default=os.path.join(ROOT, "build", "release", "tools", "myelin"))
    parser.add_argument("--bench", default=None,
                        help="bench_cpu_ops (default: next to --myelin's build)")
    parser.add_argument("--batches", default="32,128,1024")
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--out", default=None,
                        help="file prefix of the results (default bench/results/cpu-vs-pytorch-DATE)")
    args = parser.parse_args()
    batches = [int(b) for b in args.batches.split(",")]
    bench = args.bench or os.path.join(os.path.dirname(os.path.dirname(args.myelin)), "bench",
                                       "bench_cpu_ops")
    out = args.out or os.path.join(ROOT, "bench", "results",
                                   "cpu-vs-pytorch-" + time.strftime("%Y-%m-%d"))
    # Checked here (the runs would fail one by one otherwise), in a child: importing torch here
    # would make this process ~200 MiB, and a child's peak RSS (wait4) counts the memory it had
    # when it was forked from this one.
    run([sys.executable, "-c", "import torch"], ROOT)

    runs = []
    steal_before = cpu_times()
    with tempfile.TemporaryDirectory() as work:
        for rep in range(args.repetitions):
            for batch in batches:
                order = ["myelin", "pytorch"] if (rep + batch) % 2 == 0 else ["pytorch", "myelin"]
                order.append("sgemm")
                for engine in order:
                    if engine == "myelin":
                        sps, rss = run_myelin(args.myelin, batch, work, f"run-{rep}-{batch}")
                    elif engine == "sgemm":
                        sps, rss = run_sgemm_limit(bench, batch, work), 0.0
                    else:
                        sps, rss = run_pytorch(batch, work)
                    runs.append({"engine": engine, "batch": batch, "repetition": rep,
                                 "samples_per_second": sps, "peak_rss_mib": rss})
                    print(f"rep {rep + 1}/{args.repetitions} batch {batch:5d} {engine:8s}"
                          f" {sps:10.0f} samples/s  peak RSS {rss:6.0f} MiB", flush=True)

    steal = stolen_share(steal_before, cpu_times())

    def median(engine, batch, key):
        return statistics.median(r[key] for r in runs
                                 if r["engine"] == engine and r["batch"] == batch)

    def median_ratio(engine, other, batch):
        """Median over repetitions of the ratio of two runs made back to back: on a shared
        machine whose speed drifts during the comparison, a pair sees the same conditions."""
        def sps(e, rep):
            return next(r["samples_per_second"] for r in runs
                        if r["engine"] == e and r["batch"] == batch and r["repetition"] == rep)
        return statistics.median(sps(engine, rep) / sps(other, rep)
                                 for rep in range(args.repetitions))

    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    lines = [
        f"One epoch of the plain Fashion-MNIST MLP (784-512-256-10 ReLU, Adam, float32) on "
        f"{os.cpu_count()} cores ({cpu}), {platform.system()} {platform.release()}; medians of "
        f"{args.repetitions} interleaved runs per batch size; samples/s over the epoch's wall time "
        f"(batch gather, conversion and normalisation included on both sides). The ratios are "
        f"medians of the ratios of runs made back to back. The hypervisor took {steal:.0%} of "
        f"the CPU time during the comparison (steal time: the larger, the noisier the figures).",
        "",
        "The SGEMM limit is the samples/s of a training step's matrix products alone (OpenBLAS, "
        "bench_cpu_ops sgemm_mlp_step), measured in the same runs.",
        "",
        "| batch | myelin samples/s | PyTorch samples/s | myelin / PyTorch | SGEMM limit | "
        "myelin / limit | myelin peak RSS | PyTorch peak RSS |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for batch in batches:
        m = median("myelin", batch, "samples_per_second")
        p = median("pytorch", batch, "samples_per_second")
        limit = median("sgemm", batch, "samples_per_second")
        lines.append(f"| {batch} | {m:.0f} | {p:.0f} | {median_ratio('myelin', 'pytorch', batch):.2f} | "
                     f"{limit:.0f} | {median_ratio('myelin', 'sgemm', batch):.2f} | "
                     f"{median('myelin', batch, 'peak_rss_mib'):.0f} MiB | "
                     f"{median('pytorch', batch, 'peak_rss_mib'):.0f} MiB |")
    table = "\n".join(lines)
    print()
    print(table)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out + ".md", "w") as f:
        f.write(table + "\n")
    with open(out + ".json", "w") as f:
        json.dump({"runs": runs, "cpu": cpu, "cores": os.cpu_count(), "steal_share": steal}, f,
                  indent=1)
    print(f"\nwritten: {out}.md, {out}.json")


if __name__ == "__main__":
    main()
