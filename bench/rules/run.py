"""Benchmark the rules engine against the hand-written floor.

    .venv/bin/python -m bench.rules.run [--answers 2000] [--repeats 7] [--seed 20261121]

A fixed mix of answers (the public vignettes plus generated plausible ones) is
first evaluated by both the engine and the floor (bench/rules/floor.py), which
must agree on every one; then each is timed on one core, several times, and
the medians are reported (by CPU time, with the wall clock beside it). Exit
status 1 only when the two disagree: a missed speed target is reported, not
failed.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from bench.rules.floor import triage_by_hand
from triage.rules import CURRENT_RULESET, evaluate, validate_answers
from triage.rules.catalogue import COURSES, INJURIES, KNOWN_CONDITIONS, SURGERIES

SUBMITTED_ON = date(2026, 11, 21)
PUBLIC_VIGNETTES = Path(__file__).resolve().parents[2].parent / "shared" / "vignettes" / "public.json"
TARGET_RATE = 50_000
TARGET_RATIO = 2.0

# How often each optional symptom is reported as present in the generated mix.
OPTIONAL_SYMPTOMS = {"back_pain": 0.4, "sciatica": 0.35, "numbness_top_of_foot": 0.25, "tingling": 0.35,
                     "tripping": 0.45, "steppage_gait": 0.25, "heel_walk_difficulty": 0.2,
                     "eversion_weakness": 0.1, "vision_problems": 0.03, "fever": 0.03,
                     "unexplained_weight_loss": 0.04, "history_of_cancer": 0.06, "previous_foot_drop": 0.1,
                     "leg_crossing_or_kneeling": 0.2}
RARE_RED_FLAGS = ("urinary_retention", "incontinence", "saddle_numbness")


def vignette_answers() -> list[dict]:
    if not PUBLIC_VIGNETTES.exists():
        return []
    return [case["answers"] for case in json.loads(PUBLIC_VIGNETTES.read_text(encoding="utf-8"))["cases"]]


def plausible_answers(rng: random.Random) -> dict:
    """One assessment as the mobile app would send it: mostly stable one-sided cases, a few red flags."""
    age = rng.randint(16, 92)
    days = rng.choices((rng.randint(0, 14), rng.randint(15, 90), rng.randint(91, 3000)), (15, 40, 45))[0]
    days = min(days, (age + 1) * 366)
    answers = {
        "age": age,
        "affected_side": rng.choices(("left", "right", "both"), (46, 46, 8))[0],
        "days_since_onset": days,
        "onset_speed": rng.choices(("sudden", "gradual"), (30, 70))[0],
        "course": rng.choices(COURSES, (4, 20, 56, 20))[0],
        "foot_lift": rng.choices(("cannot", "weak"), (20, 80))[0],
    }
    for code in RARE_RED_FLAGS:
        answers[code] = rng.random() < 0.02
    for code, present in OPTIONAL_SYMPTOMS.items():
        roll = rng.random()
        if roll < 0.1:
            continue  # not asked
        if roll < 0.15:
            answers[code] = None  # asked, not answered
        else:
            answers[code] = rng.random() < present
    for code in ("other_leg_weakness", "stroke_signs"):
        if rng.random() < 0.5:
            answers[code] = rng.random() < 0.03
    if rng.random() < 0.7:
        answers["pain_score"] = rng.randint(0, 10)
    if rng.random() < 0.12:
        answers["recent_surgery"] = rng.choice(SURGERIES[1:])
        answers["days_since_surgery"] = rng.randint(0, 60)
    elif rng.random() < 0.3:
        answers["recent_surgery"] = "none"
    if rng.random() < 0.1:
        answers["recent_injury"] = rng.choice(INJURIES[1:])
        answers["days_since_injury"] = rng.randint(0, 60)
    if rng.random() < 0.35:
        answers["known_conditions"] = rng.sample(KNOWN_CONDITIONS, rng.choice((0, 1, 1, 1, 2)))
    if rng.random() < 0.2:
        answers["dorsiflexion_mrc"] = rng.randint(0, 5)
        answers["upper_motor_neuron_signs"] = rng.random() < 0.1
        answers["mri_severe_compression"] = rng.random() < 0.15
    return answers


def answer_mix(size: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    mix = vignette_answers()
    while len(mix) < size:
        mix.append(plausible_answers(rng))
    for answers in mix:
        problems = validate_answers(answers)
        if problems:
            raise SystemExit(f"the generator made invalid answers {answers}: {problems}")
    return mix


def disagreements(mix: list[dict]) -> list[str]:
    out = []
    for answers in mix:
        by_engine = evaluate(answers, submitted_on=SUBMITTED_ON, ruleset=CURRENT_RULESET)
        by_hand = triage_by_hand(answers, SUBMITTED_ON)
        if by_engine != by_hand:
            out.append(f"{json.dumps(answers)}\n  engine: {by_engine.as_dict()}\n  floor:  {by_hand.as_dict()}")
    return out


def timed_repeats(contenders: dict[str, Callable[[dict], object]], mix: list[dict], passes: int,
                  repeats: int) -> dict[str, dict[str, list[float]]]:
    """Evaluations per second of each contender, one figure per repeat, by CPU time and by wall clock.

    CPU time is the figure "on one core": on this shared machine the wall clock
    also counts the time other people's processes held the core. Within a
    repeat the contenders take turns pass by pass, so that a noisy neighbour
    slows them alike rather than whichever happened to be running.
    """
    rates = {name: {"cpu": [], "wall": []} for name in contenders}
    for _ in range(repeats):
        gc.collect()
        cpu = dict.fromkeys(contenders, 0.0)
        wall = dict.fromkeys(contenders, 0.0)
        for _ in range(passes):
            for name, evaluate_one in contenders.items():
                cpu_started, wall_started = time.process_time(), time.perf_counter()
                for answers in mix:
                    evaluate_one(answers)
                cpu[name] += time.process_time() - cpu_started
                wall[name] += time.perf_counter() - wall_started
        for name in contenders:
            rates[name]["cpu"].append(passes * len(mix) / cpu[name])
            rates[name]["wall"].append(passes * len(mix) / wall[name])
    return rates


def pin_to_one_core() -> str:
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity)"
    core = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})
    return f"pinned to core {core}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--answers", type=int, default=2000, help="size of the answer mix (default 2000)")
    parser.add_argument("--repeats", type=int, default=7, help="timed runs of each (default 7)")
    parser.add_argument("--passes", type=int, default=10, help="passes over the mix per timed run (default 10)")
    parser.add_argument("--seed", type=int, default=20261121, help="seed of the generated answers")
    args = parser.parse_args(argv)

    mix = answer_mix(args.answers, args.seed)
    wrong = disagreements(mix)
    if wrong:
        print(f"engine and floor disagree on {len(wrong)} of {len(mix)} answers; first ones:", file=sys.stderr)
        print("\n".join(wrong[:5]), file=sys.stderr)
        return 1
    urgencies = {urgency: 0 for urgency in ("emergency", "urgent", "routine")}
    for answers in mix:
        urgencies[evaluate(answers, submitted_on=SUBMITTED_ON).urgency] += 1
    print(f"answer mix: {len(mix)} answers ({', '.join(f'{n} {u}' for u, n in urgencies.items())}); "
          f"engine and floor agree on all; {pin_to_one_core()}")

    def by_engine(answers: dict) -> object:
        return evaluate(answers, submitted_on=SUBMITTED_ON, ruleset=CURRENT_RULESET)

    def by_hand(answers: dict) -> object:
        return triage_by_hand(answers, SUBMITTED_ON)

    rates = timed_repeats({"engine": by_engine, "floor": by_hand}, mix, args.passes, args.repeats)
    engine, floor = statistics.median(rates["engine"]["cpu"]), statistics.median(rates["floor"]["cpu"])
    ratio = floor / engine

    print(f"rules engine: {engine:,.0f} evaluations/s (median of {args.repeats}, CPU time on one core)")
    print(f"hand-written floor: {floor:,.0f} evaluations/s (median of {args.repeats}, CPU time on one core)")
    print(f"ratio engine/floor: {ratio:.2f}x (target <= {TARGET_RATIO:g}x): "
          f"{'PASS' if ratio <= TARGET_RATIO else 'MISSED'}")
    print(f"target >= {TARGET_RATE:,} evaluations/s: {'PASS' if engine >= TARGET_RATE else 'MISSED'}")
    print(f"by the wall clock: engine {statistics.median(rates['engine']['wall']):,.0f}/s, "
          f"floor {statistics.median(rates['floor']['wall']):,.0f}/s")
    if hasattr(os, "getloadavg"):
        load, cores = os.getloadavg()[0], os.cpu_count() or 1
        busy = " (the machine was busy: figures are low and noisy)" if load > cores * 0.75 else ""
        print(f"load average {load:.2f} on {cores} cores{busy}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
