"""The `Machine:` line every benchmark report starts with: cores, CPU model, memory and kernel, and for the
benchmarks that time process starts on a shared machine, the load average when the run began."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def machine(*, with_load: bool = False) -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown CPU",
    )
    mem_kib = int(
        next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal:"))
    )
    described = f"{os.cpu_count()} cores, {cpu}, {mem_kib / 1024 / 1024:.1f} GiB RAM, Linux {platform.release()}"
    if not with_load:
        return described
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{described}; load average at the start {load} (the machine is shared)"
