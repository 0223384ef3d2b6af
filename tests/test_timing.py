"""What benchmarks record about the machine (layerlab.timing.machine) and the warning when
OPENBLAS_CORETYPE forces an older BLAS kernel than the CPU supports; the timers."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from layerlab.timing import (
    blas_kernel_warning,
    cpu_level,
    describe_machine,
    kernel_level,
    machine,
    time_interleaved,
)

ROOT = Path(__file__).resolve().parents[1]
BENCHMARK = "benchmarks/batchnorm_backward.py"  # the cheapest one, with --quick
NATIVE = "env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python"
AVX2 = ["sse", "sse2", "sse3", "ssse3", "sse4_1", "sse4_2", "avx", "fma", "avx2"]
AVX512 = AVX2 + ["avx512f", "avx512dq", "avx512cd", "avx512bw", "avx512vl"]


def cpuinfo_flags():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                return set(line.partition(":")[2].split())
    return set()


def cpu(simd, forced, blas="openblas 0.3.31"):
    """A constructed machine() dict."""
    return {"blas": blas, "blas_kernel": "Haswell", "cpu": "test CPU", "cpu_simd": simd,
            "blas_kernel_forced": forced}


@pytest.mark.skipif(not Path("/proc/cpuinfo").exists(), reason="/proc/cpuinfo is Linux's")
def test_machine_reports_kernel_and_the_simd_sets_of_proc_cpuinfo():
    info = machine()
    assert info["blas"] and info["blas_threads"] >= 1
    if info["blas"].startswith("openblas"):
        assert isinstance(info["blas_kernel"], str) and info["blas_kernel"]
    flags = cpuinfo_flags()
    for name in ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512_bf16",
                 "amx_tile"):
        assert (name in info["cpu_simd"]) == (name in flags), name
    assert ("sse3" in info["cpu_simd"]) == ("pni" in flags)  # /proc/cpuinfo's name for SSE3
    assert info["blas_kernel_forced"] == os.environ.get("OPENBLAS_CORETYPE")
    lines = describe_machine(info)
    assert f"kernel {info['blas_kernel']}" in lines[0] and info["cpu"] in lines[1]


def test_warns_when_forced_kernel_is_older_than_the_cpu():
    argv = ["benchmarks/conv.py", "--threads", "1"]
    warning = blas_kernel_warning(cpu(AVX512, "Haswell"), argv)
    assert warning is not None
    assert f"{NATIVE} benchmarks/conv.py --threads 1" in warning
    assert "OPENBLAS_CORETYPE=Haswell" in warning and "CI must keep the environment" in warning
    assert blas_kernel_warning(cpu(AVX2, "prescott"), argv) is not None  # any case


def test_no_warning_when_kernel_matches_or_nothing_is_forced():
    argv = ["benchmarks/conv.py"]
    assert blas_kernel_warning(cpu(AVX2, "Haswell"), argv) is None
    assert blas_kernel_warning(cpu(AVX2, "Zen"), argv) is None  # the same level as Haswell
    assert blas_kernel_warning(cpu(AVX512, None), argv) is None
    assert blas_kernel_warning(cpu([], "Haswell"), argv) is None  # flags unknown (not Linux)
    assert blas_kernel_warning(cpu(AVX512, "NoSuchCore"), argv) is None
    assert blas_kernel_warning(cpu(AVX512, "Haswell", blas="mkl 2024.1"), argv) is None


def test_kernel_levels_order_the_kernels():
    assert kernel_level("Prescott") < kernel_level("Nehalem") < kernel_level("Sandybridge")
    assert kernel_level("Sandybridge") < kernel_level("Haswell") == kernel_level("Zen")
    assert kernel_level("Haswell") < kernel_level("SkylakeX") < kernel_level("Cooperlake")
    assert cpu_level(AVX2) == kernel_level("Haswell")
    assert cpu_level(AVX512 + ["avx512_bf16"]) == kernel_level("Cooperlake")
    assert cpu_level([]) is None


def run_benchmark(env):
    """Run the benchmark's --quick mode from the repository root; returns its stdout lines."""
    done = subprocess.run([sys.executable, BENCHMARK, "--quick"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=True)
    return done.stdout.splitlines()


def test_benchmark_warns_under_a_forced_older_kernel():
    info = machine()
    if not (info["blas"] or "").startswith("openblas"):
        pytest.skip("OPENBLAS_CORETYPE applies to OpenBLAS only")
    level = cpu_level(info["cpu_simd"])
    if level is None or level <= kernel_level("Prescott"):
        pytest.skip("this CPU's SIMD sets are unknown or no newer than Prescott's")
    env = {**os.environ, "OPENBLAS_CORETYPE": "Prescott"}
    lines = run_benchmark(env)
    warnings = [line for line in lines if line.startswith("WARNING:")]
    assert len(warnings) == 1
    assert f"{NATIVE} {BENCHMARK} --quick" in warnings[0]
    record = json.loads(lines[-1])["machine"]
    assert record["blas_kernel_forced"] == "Prescott"
    assert record["blas_kernel_warning"] == warnings[0].removeprefix("WARNING: ")
    # The kernel recorded is what threadpoolctl reports under that variable (this OpenBLAS
    # build reports Katmai for Prescott), not the variable's value.
    probe = ("import numpy, threadpoolctl; print([p['architecture'] for p in "
             "threadpoolctl.threadpool_info() if p['user_api'] == 'blas'][0])")
    reported = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True,
                              text=True, timeout=60, check=True).stdout.strip()
    assert record["blas_kernel"] == reported
    assert any(f"kernel {reported} (OPENBLAS_CORETYPE=Prescott" in line for line in lines[:3])


def test_benchmark_without_the_variable_has_no_warning():
    if "OPENBLAS_CORETYPE" in os.environ:
        pytest.skip("OPENBLAS_CORETYPE is set here, and tests keep the environment as it is")
    lines = run_benchmark(dict(os.environ))
    assert not any(line.startswith("WARNING:") for line in lines)
    record = json.loads(lines[-1])["machine"]
    assert record["blas_kernel_forced"] is None and record["blas_kernel_warning"] is None
    assert record["blas_kernel"] == machine()["blas_kernel"]
    assert isinstance(record["cpu_simd"], list) and record["cpu"]


def test_measure_passes_setup_and_keeps_each_result_until_the_next_call():
    import weakref

    from layerlab.timing import measure

    class Out:
        pass

    alive_at_call, last = [], []

    def fn(arg):
        alive_at_call.append(bool(last) and last[-1]() is not None)
        out = Out()
        out.arg = arg
        last.append(weakref.ref(out))
        return out

    stats = measure(fn, repeats=5, warmup=1, setup=lambda: 7, keep_result=True)
    assert stats["n"] == 5 and stats["min"] <= stats["median"] <= stats["max"]
    assert alive_at_call[1:] == [True] * 5  # every call found the previous result alive
    alive_at_call.clear()
    last.clear()
    measure(fn, repeats=5, warmup=1, setup=lambda: 7)
    assert not any(alive_at_call)  # by default a result is dropped as soon as it returns


def test_time_interleaved_orders_a_slow_and_a_fast_function():
    stats, ratios = time_interleaved([lambda: time.sleep(0.004), lambda: time.sleep(0.001)],
                                     repeats=5, warmup=1)
    assert [s["n"] for s in stats] == [5, 5] and len(ratios[0]) == 5
    assert stats[0]["median"] > stats[1]["median"]
    assert np.median(ratios[0]) > 1.5
