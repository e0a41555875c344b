"""`make bench`: every benchmark under bench/, one after another, each printing its figures and targets."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ORDER = ["rules", "escalation", "intake", "scale", "memory"]


def benchmarks() -> list[str]:
    found = sorted(path.parent.name for path in BENCH.glob("*/run.py"))
    return [name for name in ORDER if name in found] + [name for name in found if name not in ORDER]


def main(selected: list[str]) -> int:
    failed = []
    began = time.monotonic()
    for name in selected or benchmarks():
        if importlib.util.find_spec(f"bench.{name}.run") is None:
            print(f"no benchmark named {name!r}")
            failed.append(name)
            continue
        print(f"\n=== bench/{name} ===", flush=True)
        started = time.monotonic()
        result = subprocess.run([sys.executable, "-m", f"bench.{name}.run"], cwd=BENCH.parent, check=False)
        print(f"=== bench/{name}: exit {result.returncode} in {time.monotonic() - started:.0f} s ===", flush=True)
        if result.returncode:
            failed.append(name)
    total = time.monotonic() - began
    print(f"\nall benchmarks run in {total / 60:.1f} min (target for `make bench`: under 15 min): "
          f"{'PASS' if total < 15 * 60 else 'MISS'}")
    if failed:
        print(f"\nbenchmarks that failed to run: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
