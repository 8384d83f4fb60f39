"""Cold import time of the module a ribbon button runs (each click starts a new Python).

    python benchmarks/addin_import.py [N]

Prints the median of N cold ``python -c "import kpitree.addin.actions"`` runs next to a
bare ``python -c pass``; the difference is what a click pays before doing any work.
Target: under 0.5 s (pandas, formulas and xlwings are imported inside the actions).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

TARGET_S = 0.5


def median_run(code: str, n: int) -> float:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str]) -> int:
    n = int(argv[1]) if len(argv) > 1 else 15
    bare = median_run("pass", n)
    actions = median_run("import kpitree.addin.actions", n)
    print(f"python -c pass:                          median {bare:.3f} s over {n} runs")
    print(f"python -c 'import kpitree.addin.actions': median {actions:.3f} s  (+{actions - bare:.3f} s)")
    verdict = "ok" if actions < TARGET_S else "TOO SLOW"
    print(f"target < {TARGET_S:.1f} s cold: {verdict}")
    return 0 if actions < TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
