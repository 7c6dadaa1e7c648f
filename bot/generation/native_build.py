"""Building native.c: compiled once per CPU, compiler and flags into the model cache (about
two seconds; `make setup` does it), and loaded with its functions' C signatures."""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import threading
from functools import cache
from pathlib import Path

from bot.generation.base import GenerationError

SOURCE = Path(__file__).with_name("native.c")
_BUILD = threading.Lock()


def compiler() -> str | None:
    """The C compiler to build with: $CC, else cc or gcc on the PATH."""
    return os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")


@cache
def _compiler_version(cc: str) -> str:
    """`cc --version`, asked once per process (each start-up looks the kernel up twice)."""
    return subprocess.run([cc, "--version"], capture_output=True, text=True).stdout


def _cpu_flags() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return line
    except OSError:
        pass
    return os.uname().machine


def build(cache: Path, portable: bool = False) -> Path:
    """The compiled kernel for this CPU (`-march=native`), built into the cache if missing.
    `portable` leaves AVX-512 out, for the loops a CPU without it runs (tests)."""
    cc = compiler()
    if cc is None:
        raise GenerationError("the native engine needs a C compiler (cc or gcc, or $CC); "
                              "install one, or set [generation].engine = \"llama.cpp\"")
    version = _compiler_version(cc)
    flags = ["-O3", "-march=native", *(["-mno-avx512f"] if portable else [])]
    key = hashlib.sha256(SOURCE.read_bytes() + _cpu_flags().encode() + version.encode() +
                         " ".join(flags).encode())
    target = Path(cache) / "native" / f"lk-{key.hexdigest()[:16]}.so"
    with _BUILD:
        if target.is_file():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(f".{os.getpid()}.partial")
        command = [cc, *flags, "-std=c11", "-shared", "-fPIC", "-o", str(partial), str(SOURCE),
                   "-lm"]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            partial.unlink(missing_ok=True)
            raise GenerationError(f"could not compile {SOURCE.name} ({' '.join(command)}):\n"
                                  f"{done.stderr.strip()[-2000:]}")
        partial.replace(target)
    return target


def load_library(cache: Path, portable: bool = False) -> ctypes.CDLL:
    """The built kernel, loaded, with the argument and result types of its functions."""
    lib = ctypes.CDLL(str(build(cache, portable)))
    ptr, i32, f32 = ctypes.c_void_p, ctypes.c_int, ctypes.c_float
    lib.lk_create.restype = ptr
    lib.lk_create.argtypes = [ptr, f32, f32]
    lib.lk_free.argtypes = [ptr]
    lib.lk_set_matrix.argtypes = [ptr, i32, i32, i32, i32, i32, ptr, ptr, ptr]
    lib.lk_set_norms.argtypes = [ptr, i32, ptr, ptr]
    lib.lk_set_embedding.argtypes = [ptr, ptr]
    lib.lk_set_lora.argtypes = [ptr, i32, i32, i32, i32, i32, f32, i32, ptr, ptr]
    lib.lk_set_lora.restype = i32
    lib.lk_forward.argtypes = [ptr, i32, ptr, ptr, ptr, ptr, i32, ptr, ptr]
    lib.lk_forward.restype = i32
    lib.lk_has_vnni.restype = i32
    lib.lk_vnni_loop.argtypes = [ctypes.c_long]
    lib.lk_vnni_loop.restype = i32
    return lib
