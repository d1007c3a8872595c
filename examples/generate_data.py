"""Generate the demo's raw extracts (seeded, so every machine gets the same bytes).

    python examples/generate_data.py [--rows 480] [--out examples/data]

weekly_throughput.csv: one row per part cycle (station, cycle_time in seconds, shift, recipe_code,
ts). recipes.csv: the known recipe codes with their target cycle times.
"""

from __future__ import annotations

import argparse
import csv
import random
from datetime import datetime, timedelta
from pathlib import Path

RECIPES = [
    ("R01", "Bracket, steel", 32.0),
    ("R02", "Bracket, aluminium", 28.0),
    ("R03", "Housing, small", 45.0),
    ("R04", "Housing, large", 58.0),
    ("R05", "Cover plate", 24.0),
    ("R06", "Gear blank", 51.0),
]
STATIONS = [f"ST-{n:02d}" for n in range(1, 9)]
SHIFTS = ("A", "B", "C")


def generate(out: Path, rows: int = 480, seed: int = 7) -> tuple[Path, Path]:
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    recipes_path = out / "recipes.csv"
    with recipes_path.open("w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["code", "name", "target_cycle_s"])
        writer.writerows(RECIPES)
    throughput_path = out / "weekly_throughput.csv"
    start = datetime(2026, 11, 16, 6, 0, 0)
    with throughput_path.open("w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["station", "cycle_time", "shift", "recipe_code", "ts"])
        for i in range(rows):
            ts = start + timedelta(seconds=i * 1260 + rng.randint(0, 600))
            shift = SHIFTS[(ts.hour - 6) // 8 % 3] if ts.hour >= 6 else "C"
            code, _, target = rng.choice(RECIPES)
            station = rng.choice(STATIONS)
            slow = 1.25 if station == "ST-05" else 1.0  # one station runs slow: the finding
            cycle = max(12.0, min(94.0, rng.gauss(target * slow, target * 0.12)))
            writer.writerow([station, f"{cycle:.1f}", shift, code, ts.isoformat(sep=" ")])
    return throughput_path, recipes_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=480)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "data")
    args = parser.parse_args()
    for path in generate(args.out, args.rows, args.seed):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
