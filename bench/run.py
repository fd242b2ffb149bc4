"""Run the variants interleaved and compare them.

Each round runs every variant once, in a rotated order (A B C D, then B C D A, ...),
each in a fresh subprocess that loads the data, warms up on a throwaway model and
times ``--epochs`` epochs of a fresh one. Printed per variant: the median and the
range of seconds per epoch over the rounds, the median of the per-round ratios
against each baseline, and the peak memory (ru_maxrss) of its subprocess.

Run from the repository root: ``python -m bench.run [--rounds 5] [--epochs 5]``
(see bench/README.md for the environment to benchmark in).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

if not __package__:  # run as `python bench/run.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from bench.workload import (
    REPO,
    Params,
    Setup,
    Unavailable,
    add_data_args,
    init_params,
    load,
    measure,
)

# A variant is "module:function", a function setup(data, params) -> epoch(seed) -> seconds.
# Modules are imported only in the variant's own subprocess.
VARIANTS: dict[str, str] = {
    "engine": "bench.engine_mlp:setup",
    "engine-numpy": "bench.engine_mlp:setup_numpy",
    "engine-numba": "bench.engine_mlp:setup_numba",
    "torch": "bench.torch_mlp:setup",
    "numpy": "bench.numpy_mlp:setup",
    "numpy-flush": "bench.numpy_mlp:setup_flush",
    "gemm": "bench.gemm_floor:setup",
    "engine-cnn": "bench.engine_cnn:setup",
    "engine-cnn-numpy": "bench.engine_cnn:setup_numpy",
    "torch-cnn": "bench.torch_cnn:setup",
    "gemm-cnn": "bench.gemm_floor_cnn:setup",
    "engine-train-cnn": "bench.train_cnn:setup_engine",
    "torch-train-cnn": "bench.train_cnn:setup_torch",
}
DEFAULT_VARIANTS = ["engine-numpy", "engine-numba", "torch", "numpy", "gemm"]
# run the CNN variants on their own, the trainer's recipe (*-train-cnn) too
BASELINES = ["torch", "numpy", "gemm", "torch-cnn", "gemm-cnn", "torch-train-cnn"]
BUSY = 0.2  # cores kept busy by other processes above which a machine is not idle


def resolve(name: str) -> tuple[Setup, Callable[[int], Params]]:
    """The setup function registered under ``name``, and the function giving the weights
    it starts from: its module's ``INIT``, else the MLP's ``init_params``."""
    module_name, function = VARIANTS[name].split(":")
    module = importlib.import_module(module_name)
    return getattr(module, function), getattr(module, "INIT", init_params)


def peak_mib() -> float:
    """This process's peak resident memory so far (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak() -> None:
    """Start ru_maxrss afresh from the current size, so loading the data does not count."""
    Path("/proc/self/clear_refs").write_text("5")  # Linux: reset the peak RSS


def cpu_seconds() -> tuple[float, float]:
    """CPU seconds so far of the whole machine (busy and stolen) and of this process."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(
        int, Path("/proc/stat").read_text().split()[1:9]
    )
    machine = (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")
    own = resource.getrusage(resource.RUSAGE_SELF)
    return machine, own.ru_utime + own.ru_stime


def worker(args: argparse.Namespace) -> None:
    """Child side: measure one variant and print the result as one JSON line.

    Besides the seconds of each epoch it reports the memory after loading the data,
    the peak while training, and how many cores other processes kept busy meanwhile:
    on a shared machine that tells a slow run from a disturbed one.
    """
    data = load(args)
    reset_peak()
    loaded_mib = peak_mib()
    (machine0, own0), start = cpu_seconds(), time.perf_counter()
    try:
        setup, init = resolve(args.worker)
        seconds = measure(setup, data, init(args.seed), args.seed, args.epochs)
    except Unavailable as e:
        print(json.dumps({"skipped": str(e)}))
        return
    (machine1, own1), wall = cpu_seconds(), time.perf_counter() - start
    others = max(0.0, (machine1 - machine0) - (own1 - own0)) / wall
    result = {"seconds": seconds, "peak_mib": peak_mib(), "loaded_mib": loaded_mib}
    print(json.dumps(result | {"others": others}))


def wait_until_idle(max_wait: float, window: float = 0.5) -> None:
    """Wait, at most ``max_wait`` seconds, until other processes keep fewer than BUSY
    cores busy over ``window`` seconds: on a shared machine, others' tests ruin a run."""
    deadline = time.perf_counter() + max_wait
    while time.perf_counter() < deadline:
        before = cpu_seconds()[0]
        time.sleep(window)
        if (cpu_seconds()[0] - before) / window < BUSY:
            return


def run_in_subprocess(name: str, args: argparse.Namespace) -> dict:
    """Parent side: run ``worker`` for variant ``name`` in a fresh interpreter."""
    cmd = [sys.executable, "-m", "bench.run", "--worker", name, "--epochs", str(args.epochs)]
    cmd += ["--seed", str(args.seed), "--data-dir", str(args.data_dir)]
    cmd += ["--limit", str(args.limit)] if args.limit else []
    cmd += ["--synthetic"] if args.synthetic else []
    done = subprocess.run(cmd, cwd=REPO, stdout=subprocess.PIPE, text=True)
    if done.returncode != 0:
        raise SystemExit(f"variant {name} failed with exit code {done.returncode}")
    return json.loads(done.stdout.splitlines()[-1])


def blas_description() -> str:
    """Which BLAS library and kernel NumPy runs, as threadpoolctl sees it."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (pip install threadpoolctl to see it)"
    blas = [i for i in threadpool_info() if i["user_api"] == "blas"]
    return "; ".join(
        f"{i['internal_api']} {i['version']} {i.get('architecture', '?')} kernel, "
        f"{i['num_threads']} threads"
        for i in blas
    )


def environment() -> dict[str, str]:
    """The facts a benchmark result needs beside it."""
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    models = [line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")]
    try:
        torch_version = importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        torch_version = "not installed"
    env = {
        "cpu": models[0] if models else "unknown",
        "cores": str(len(os.sched_getaffinity(0))),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "torch": torch_version,
        "blas": blas_description(),
    }
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if var in os.environ:
            env[var] = f"{os.environ[var]} (set: unset it to benchmark, see README)"
    return env


def paired_ratio(a: list[float], b: list[float]) -> float:
    """The median over rounds of a[round] / b[round]."""
    return statistics.median(x / y for x, y in zip(a, b, strict=True))


def report(runs: dict[str, list[dict]], epochs: int) -> None:
    """Print the table: per-round seconds per epoch are the mean over that round's epochs."""
    per_round = {name: [statistics.fmean(r["seconds"]) for r in rs] for name, rs in runs.items()}
    baselines = [b for b in BASELINES if b in runs]
    header = f"{'variant':<13} {'median s':>8} {'min-max s':>13} {'peak MiB':>8} {'loaded':>6}"
    header += "".join(f" {'/' + b:>7}" for b in baselines)
    header += f" {f'ep{epochs}/ep1':>7}" if epochs > 1 else ""
    print(header + f" {'others':>6}")
    for name, rs in runs.items():
        times = per_round[name]
        line = f"{name:<13} {statistics.median(times):8.3f} {min(times):6.3f}-{max(times):<6.3f}"
        line += f" {max(r['peak_mib'] for r in rs):8.0f} {max(r['loaded_mib'] for r in rs):6.0f}"
        line += "".join(f" {paired_ratio(times, per_round[b]):7.2f}" for b in baselines)
        if epochs > 1:
            line += f" {statistics.median(r['seconds'][-1] / r['seconds'][0] for r in rs):7.2f}"
        print(line + f" {max(r['others'] for r in rs):6.2f}")
    print(
        "median, min-max: seconds per epoch over rounds; /b: median over rounds of the ratio\n"
        "to b in the same round; peak: ru_maxrss while training (data loaded: loaded MiB);\n"
        f"others: most cores other processes kept busy during a run (* above {BUSY})"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_args(parser)
    parser.add_argument("--variants", default=",".join(DEFAULT_VARIANTS), help="comma-separated")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=1, help="epochs per run (5: ep5/ep1)")
    parser.add_argument(
        "--idle-wait", type=float, default=60, help="max seconds to wait for an idle machine"
    )
    parser.add_argument(
        "--retries", type=int, default=2, help="reruns of a run that others disturbed"
    )
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument("--worker", choices=VARIANTS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args)
        return

    names = args.variants.split(",")
    unknown = set(names) - set(VARIANTS)
    if unknown:
        parser.error(f"unknown variants {sorted(unknown)}; known: {', '.join(VARIANTS)}")
    env = environment()
    for key, value in env.items():
        print(f"{key}: {value}")
    runs: dict[str, list[dict]] = {name: [] for name in names}
    for r in range(args.rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        print(f"round {r + 1}/{args.rounds}:", end="", flush=True)
        for name in order:
            for _ in range(1 + args.retries):
                wait_until_idle(args.idle_wait)
                result = run_in_subprocess(name, args)
                if "skipped" in result or result["others"] <= BUSY:
                    break
            if "skipped" in result:
                print(f" {name} skipped ({result['skipped']})", end="")
                names.remove(name)
                del runs[name]
                continue
            runs[name].append(result)
            mark = "*" if result["others"] > BUSY else ""  # disturbed by other processes
            print(
                f" {name} {' '.join(f'{s:.3f}' for s in result['seconds'])}{mark}",
                end="",
                flush=True,
            )
        print()
    report(runs, args.epochs)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"environment": env, "runs": runs}, indent=1))


if __name__ == "__main__":
    main()
