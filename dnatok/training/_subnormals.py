"""Subnormal floats flushed to zero on every thread torch computes with on the CPU.

``torch.set_flush_denormal`` sets the floating-point mode (x86's MXCSR) of the
calling thread only. Torch's CPU kernels split their work over an OpenMP team
whose threads live as long as the process and keep the mode they had when they
were created, so after the first parallel operation the caller's setting reaches
half of a two-thread step (``benchmarks/RESULTS.md``, "subnormals"). Where torch's
OpenMP runtime is GNU libgomp (the Linux wheels), one empty parallel region in
which every thread of that team runs ``fesetenv`` with the caller's environment
hands the setting to all of them; elsewhere only the caller's thread is set.
"""

import contextlib
import ctypes
import ctypes.util
import functools
import sys

import torch

__all__ = ["flushing_subnormals"]


@functools.lru_cache(maxsize=None)
def _openmp_team_setter():
    """A function ``() -> None`` that copies the caller's floating-point environment
    to every thread of torch's OpenMP team, or None where that cannot be done."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        with open("/proc/self/maps") as maps:
            libtorch = next((line.split()[-1] for line in maps if "/libtorch_cpu." in line), None)
        libm_name = ctypes.util.find_library("m")
        if libtorch is None or libm_name is None:
            return None
        # looked up through libtorch_cpu, the symbol is that of the OpenMP runtime torch
        # runs on, not of another copy in the process (scikit-learn's wheels bring one)
        parallel = ctypes.CDLL(libtorch).GOMP_parallel
        libm = ctypes.CDLL(libm_name)
        fesetenv, fegetenv = libm.fesetenv, libm.fegetenv
    except (OSError, AttributeError):  # not libgomp (LLVM's or Intel's OpenMP, MSVC), or no libm
        return None
    # GOMP_parallel(fn, data, num_threads, flags) runs fn(data) on every thread of the
    # team (0 threads: torch's number); fesetenv(const fenv_t *) has that shape
    parallel.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint, ctypes.c_uint]
    parallel.restype = None
    fesetenv_address = ctypes.cast(fesetenv, ctypes.c_void_p)
    environment = ctypes.create_string_buffer(256)  # fenv_t: 32 bytes on x86-64 glibc

    def set_team():
        if fegetenv(environment) == 0:
            parallel(fesetenv_address, ctypes.cast(environment, ctypes.c_void_p), 0, 0)

    return set_team


def _set_flush(flush):
    if not torch.set_flush_denormal(flush):
        return  # a CPU without the mode: nothing to hand on
    set_team = _openmp_team_setter()
    if set_team is not None:
        set_team()


@contextlib.contextmanager
def flushing_subnormals():
    """Flush subnormal floats to zero on the CPU inside the block.

    As a network trains, some of its gradients underflow into the subnormal range
    (below 1.2e-38 in float32), where x86 arithmetic is many times slower: after 10
    epochs a training step took 1.3x as long without this (``benchmarks/RESULTS.md``,
    "subnormals"). Values that small change no prediction. The mode is set on the
    calling thread and, where torch's OpenMP runtime is libgomp (Linux), on every
    thread of its team; torch cannot report the mode, so the block ends with it
    off everywhere, torch's default.
    """
    _set_flush(True)
    try:
        yield
    finally:
        _set_flush(False)
