#!/usr/bin/env python3
"""Grid search over a few key parameters of the status quo against the calibration targets.

For each point of the grid it writes a scenario that extends scenarios/status_quo.toml with the
point's values, runs `forumsim calibrate` (fixed seed, 30 replications, 2007-2016) and scores the
squared deviations of the model means from the observed values, each divided by a scale (the
deviation that counts as one unit of misfit). Prints the points ranked by score. Usage, from the
repository root after `cargo build --release`:

    python3 tools/calibration_search.py
"""
import csv
import itertools
import os
import subprocess
import tempfile

BIN = "target/release/forumsim"
BASE = os.path.abspath("scenarios/status_quo.toml")
SCALES = {
    "gfmd_attendance": 10.0,
    "icrmw_parties": 5.0,
    "icrmw_high_income_parties": 3.0,
    "icrmw_large_destination_parties": 0.5,
    "trafficking_protocol_parties": 10.0,
    "irregular_share_workers": 0.02,
    "migrant_stock_growth_2010_2015": 0.02,
}
GRID = {
    ("treaties.ICRMW", "consider_prob"): [0.05, 0.06, 0.07],
    ("treaties.ICRMW", "fixed_cost"): [1.1, 1.3],
    ("treaty_dynamics", "exposure_income"): [0.3, 0.5],
    ("forum_dynamics", "attend_base"): [-0.7, -0.65],
    ("admission", "mu"): [0.035],
    ("treaties.Trafficking_Protocol", "consider_prob"): [0.1, 0.11],
}


def run(point, tmp):
    sections = {}
    for (section, key), value in point.items():
        sections.setdefault(section, []).append(f"{key} = {value}")
    text = f'extends = "{BASE}"\nname = "search"\n' + "".join(
        f"[{s}]\n" + "\n".join(lines) + "\n" for s, lines in sections.items()
    )
    path = os.path.join(tmp, "search.toml")
    with open(path, "w") as f:
        f.write(text)
    out = os.path.join(tmp, "out")
    subprocess.run(
        [BIN, "calibrate", path, "--reps", "30", "--seed", "7", "--out", out, "--force"],
        check=True,
        capture_output=True,
    )
    score, rows = 0.0, list(csv.DictReader(open(os.path.join(out, "calibration.csv"))))
    # GFMD attendance counts by its mean over the summits: the model has no reason for the
    # year-to-year swings of the record (host, venue), only for its level.
    gfmd = [r for r in rows if r["target"] == "gfmd_attendance"]
    if gfmd:
        model = sum(float(r["model_mean"]) for r in gfmd) / len(gfmd)
        observed = sum(float(r["observed"]) for r in gfmd) / len(gfmd)
        score += ((model - observed) / SCALES["gfmd_attendance"]) ** 2
    for r in rows:
        scale = SCALES.get(r["target"])
        if scale and r["target"] != "gfmd_attendance":
            score += ((float(r["model_mean"]) - float(r["observed"])) / scale) ** 2
    return score, rows


def main():
    keys = list(GRID)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for values in itertools.product(*(GRID[k] for k in keys)):
            point = dict(zip(keys, values))
            score, rows = run(point, tmp)
            results.append((score, point, rows))
    results.sort(key=lambda r: r[0])
    for score, point, _ in results[:10]:
        print(f"{score:8.2f}  " + ", ".join(f"{s}.{k}={v}" for (s, k), v in point.items()))
    best = results[0]
    print("\nbest point, target by target:")
    for r in best[2]:
        print(f"  {r['target']:<34} {r['year']}  observed {float(r['observed']):9.3f}  model {float(r['model_mean']):9.3f}")


if __name__ == "__main__":
    main()
