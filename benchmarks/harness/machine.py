"""What the figures were measured on: CPU, cores, RAM, OS, load average and the reported environment."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.harness.processes import CHILD_ENV, REPORTED_ENV

__all__ = ["Machine", "load_note"]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


#: Vector extensions that decide ONNX Runtime's int8 speed, most capable first. Two machines both labelled
#: "AMD EPYC, 2 cores" here embedded 417 and 78.6 texts/s (10,000 reviews); the slow one is family 23
#: (Zen 1), AVX2 only; the fast one's flags were not recorded.
_VECTOR_FLAGS = (("avx512_vnni", "AVX-512 VNNI"), ("avx_vnni", "AVX-VNNI"), ("avx512f", "AVX-512"), ("avx2", "AVX2"))


def _cpu_detail(cpuinfo: str) -> str:
    """'family 23 model 1, AVX2': the CPU generation and its best vector extension, from /proc/cpuinfo's text."""
    fields: dict[str, str] = {}
    for line in cpuinfo.splitlines():
        if not line.strip():
            break  # the first processor's block says it for all
        key, _, value = line.partition(":")
        fields.setdefault(key.strip().lower(), value.strip())
    flags = set(fields.get("flags", "").split())
    best = next((name for flag, name in _VECTOR_FLAGS if flag in flags), None)
    parts = []
    if "cpu family" in fields and "model" in fields:
        parts.append(f"family {fields['cpu family']} model {fields['model']}")
    if flags:
        parts.append(best or "no AVX2")
    return ", ".join(parts)


def _read_cpuinfo() -> str:
    try:
        return Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        return ""


def _cpu() -> str:
    detail = _cpu_detail(_read_cpuinfo())
    return f"{_cpu_model()} ({detail})" if detail else _cpu_model()


def _ram_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return None


@dataclass
class Machine:
    cpu: str
    cores: int
    usable_cores: int
    ram_gib: float | None
    system: str
    load_start: tuple[float, float, float]
    load_end: tuple[float, float, float] = (0.0, 0.0, 0.0)
    env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def probe(cls) -> Machine:
        usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        return cls(
            cpu=_cpu(),
            cores=os.cpu_count() or 1,
            usable_cores=usable,
            ram_gib=_ram_gib(),
            system=f"{platform.system()} {platform.release()}",
            load_start=os.getloadavg(),
            env={name: os.environ.get(name, CHILD_ENV.get(name, "")) for name in REPORTED_ENV},
        )

    @property
    def label(self) -> str:
        ram = f", {self.ram_gib:.0f} GiB RAM" if self.ram_gib else ""
        return f"{self.cpu}, {self.cores} cores{ram}"


def load_note(machine: Machine, load_end: tuple[float, float, float]) -> str:
    busy = max(machine.load_start[0], load_end[0]) > 0.5 * machine.usable_cores
    return (
        f"1-min load average {machine.load_start[0]:.2f} at the start, {load_end[0]:.2f} at the end, on "
        f"{machine.usable_cores} cores"
        + (" (busy: seconds are slower and noisier than on a quiet machine)." if busy else ".")
    )
