"""DSPy user-program optimizers side by side: held-out fidelity (95% interval), the paired gain over
the unoptimized program, the wording-check fallback rate and the wall time of each, on the same
held-out SGD turns and the same model (default: the local SmolLM2-135M).

    python bench/bench_user_programs.py --optimizers labeled knn bootstrap --eval-turns 80
    python bench/bench_user_programs.py --data-dir ../shared/data/sgd --model openai/gpt-4o-mini --optimizers mipro gepa

The template wording and the real users' own turns are scored by the same read-back as reference rows.
"""
from __future__ import annotations

import argparse
import random
import tempfile
import time


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default=None)
    p.add_argument("--target", choices=["realizer", "user"], default="realizer")
    p.add_argument("--optimizers", nargs="+", default=["labeled", "knn", "bootstrap"])
    p.add_argument("--model", default=None)
    p.add_argument("--budget", type=int, default=4)
    p.add_argument("--train-turns", type=int, default=40)
    p.add_argument("--eval-turns", type=int, default=80)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()

    from agentgym.domains.sgd import load_sgd
    from agentgym.domains.sgd.users import load_user_model
    from agentgym.domains.sgd.users.optimize import fidelity, mean_ci, optimize_program, real_turns

    held = real_turns(load_sgd(args.data_dir, "dev"), args.eval_turns, args.seed + 1)
    nlg, rng = load_user_model(args.data_dir, "train").nlg, random.Random(args.seed)
    rows = []
    for name, texts in (("real users", [t.text for t in held]), ("template wording", [nlg.realize(t.acts, rng) for t in held])):
        m, lo, hi = mean_ci([fidelity(x, t)["score"] for x, t in zip(texts, held, strict=True)])
        rows.append((name, f"{m:.3f} [{lo:.3f}, {hi:.3f}]", "", "", ""))
    with tempfile.TemporaryDirectory() as tmp:
        for opt in args.optimizers:
            t0 = time.perf_counter()
            res = optimize_program(data_dir=args.data_dir, kind=args.target, optimizer=opt, model=args.model, budget=args.budget,
                                   train_turns=args.train_turns, eval_turns=args.eval_turns, out=f"{tmp}/{opt}.json",
                                   seed=args.seed, progress=False)
            secs = time.perf_counter() - t0
            if not any(r[0] == "unoptimized" for r in rows):
                b = res["before"]
                rows.append(("unoptimized", f"{b['fidelity']:.3f} [{b['fidelity_ci_low']:.3f}, {b['fidelity_ci_high']:.3f}]",
                             "", f"{b['fallback_rate']:.3f}", ""))
            a, d = res["after"], res["difference"]
            gain = f"{d['fidelity']:+.3f} [{d['ci_low']:+.3f}, {d['ci_high']:+.3f}]"
            rows.append((opt + (f" (failed: {res['error']})" if res["error"] else ""),
                         f"{a['fidelity']:.3f} [{a['fidelity_ci_low']:.3f}, {a['fidelity_ci_high']:.3f}]", gain,
                         f"{a['fallback_rate']:.3f}", f"{secs:.0f}"))
    print(f"{args.target} on {len(held)} held-out dev turns, model {res['model']}, budget {args.budget}, "
          f"{args.train_turns} train turns")
    head = ("program", "fidelity [95% CI]", "paired gain vs unoptimized", "fallback rate", "seconds")
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(5)]
    for r in [head, *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)))


if __name__ == "__main__":
    main()
