"""`agentgym` command line: play episodes and summarize them."""
from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

import gymnasium as gym
import pandas as pd

from agentgym.agents import make_agent
from agentgym.domain import domain_of
from agentgym.extras import EXTRA_OF
from agentgym.registration import ENV_IDS, register_envs
from agentgym.runner import run_episodes, summarize
from agentgym.store import StoreError


def _run(args: argparse.Namespace) -> int:
    register_envs()
    agents = [(name, make_agent(name)) for name in args.agent]  # every spec checked before the env is built or any plays
    kwargs = domain_of(args.env).env_kwargs(args.env, split=args.split, data_dir=args.data_dir, max_turns=args.max_turns,
                                            user=args.user, tasks=args.tasks)
    env = gym.make(args.env, **kwargs)
    episodes = []
    out_dir = Path(args.out)
    for name, agent in agents:
        out = out_dir / f"{re.sub(r'[^A-Za-z0-9._=,-]+', '_', name)}.jsonl"
        played = run_episodes(env, agent, episodes=args.episodes, seed=args.seed, progress=not args.quiet, out=out,
                              keep_steps=False)  # trajectories stream to disk; the table needs only scores
        for ep in played:  # the table's rows are the specs as written: two specs of one class stay apart
            ep.agent = name
        episodes += played
        print(f"trajectories: {out}", file=sys.stderr)
    table = summarize(episodes)
    with pd.option_context("display.float_format", "{:.3f}".format, "display.width", 120):
        print(table.to_string())
    return 0


def _show(args: argparse.Namespace) -> int:
    from agentgym.runner import episodes_frame, read_trajectories

    path = Path(args.file)
    if not path.exists():
        near = sorted(p.name for p in path.parent.glob("*.jsonl*")) if path.parent.is_dir() else []
        raise ValueError(f"No trajectory file {path}" + (f"; {path.parent} has: {', '.join(near)}" if near else
                         "; `agentgym run --out runs` writes runs/<agent>.jsonl") + ".")
    episodes = read_trajectories(path)
    if not episodes:
        print(f"{path}: no episodes.")
        return 0
    if args.episode is None and args.task is None:
        df = episodes_frame(episodes)[["task_id", "seed", "agent", "turns", "total_reward", "success", "truncated"]]
        df.index.name = "episode"
        with pd.option_context("display.float_format", "{:.3f}".format, "display.width", 120, "display.max_rows", args.rows):
            print(df.to_string(max_rows=args.rows))
        print(f"{len(episodes)} episode(s), success {sum(e.success for e in episodes) / len(episodes):.3f}; "
              f"one in full: agentgym show {path} --episode N", file=sys.stderr)
        return 0
    if args.task is not None:
        matches = [i for i, e in enumerate(episodes) if e.task_id == args.task]
        if not matches:
            raise ValueError(f"No episode of task {args.task!r} in {path}; its tasks include "
                             f"{', '.join(sorted({e.task_id for e in episodes})[:5])}.")
        index = matches[0]
    else:
        index = args.episode
        if not 0 <= index < len(episodes):
            raise ValueError(f"--episode must be 0..{len(episodes) - 1} ({len(episodes)} episodes in {path}), got {index}.")
    ep = episodes[index]
    print(f"episode {index}: task {ep.task_id} · seed {ep.seed} · {ep.agent} · {ep.turns} turns · reward "
          f"{ep.total_reward:.3f} · {'success' if ep.success else 'no success'}{' · truncated' if ep.truncated else ''}")
    for m in ep.messages:
        text = m.get("content") or ""
        calls = m.get("tool_calls") or []
        for c in calls:
            fn = c.get("function", c)
            text += ("\n" if text else "") + f"→ {fn.get('name')}({fn.get('arguments')})"
        print(f"{m.get('role', '?'):>9}: " + text.replace("\n", "\n           "))
    print("reward: " + ", ".join(f"{k} {v:.3f}" if isinstance(v, (int, float)) else f"{k} {v}"
                                 for k, v in ep.reward_breakdown.items()))
    return 0


def _export_app(args: argparse.Namespace) -> int:
    from agentgym.workbench.export import export_app

    app = Path(args.app)
    if not app.exists():
        raise ValueError(f"--app {app} does not exist; the workbench app is notebooks/workbench_app.py in a checkout "
                         "of agentgym (run from its root, or pass --app PATH).")
    if args.timeout <= 0:
        raise ValueError(f"--timeout must be a positive number of seconds, got {args.timeout:g}.")
    try:
        out = export_app(app, args.out, demo=args.demo, store=args.store, timeout=args.timeout, progress=not args.quiet)
    except RuntimeError as e:
        raise ValueError(str(e)) from None
    print(f"agentgym: wrote {out} (a static snapshot); open it served: python -m http.server -d {out.parent} 8000, then "
          f"http://127.0.0.1:8000/{out.name}", file=sys.stderr)
    return 0


def _serve(args: argparse.Namespace) -> int:
    register_envs()
    settings = {k: v for k, v in {"split": args.split, "data_dir": args.data_dir, "max_turns": args.max_turns,
                                  "user": args.user, "tasks": args.tasks}.items() if v is not None}
    domain_of(args.env).env_kwargs(args.env, **settings)  # a setting the env does not take is refused before binding
    if args.write_package:
        from agentgym.interop.openenv_package import write_package

        path = write_package(args.env, args.write_package, settings, port=args.port)
        print(f"agentgym: wrote {path} (+ server/app.py{', oracle.py' if (path.parent / 'oracle.py').exists() else ''}); "
              f"check it with: openenv validate {path.parent} --level static --skip-build", file=sys.stderr)
        return 0
    from agentgym.interop.openenv_server import check_exposure, route_name, serve

    token = args.token or os.environ.get("AGENTGYM_SERVE_TOKEN") or None
    check_exposure(args.host, token)
    announce = (f"agentgym: serving {args.env} on ws://{args.host}:{args.port} (OpenEnv; task API under "
                f"/{route_name(args.env)}/; {args.workers} process(es), up to {args.max_sessions} sessions each, idle "
                f"sessions closed after {args.idle_timeout:g} s{', token required' if token else ''}). Ctrl-C stops.")
    serve(args.env, settings, host=args.host, port=args.port, max_sessions=args.max_sessions, idle_timeout=args.idle_timeout,
          token=token, workers=args.workers, info=args.info, announce=announce)
    return 0


def _print_metrics(metrics: dict[str, object], as_json: bool) -> None:
    """A two-column table for people, or one JSON object on the last line for scripts."""
    import json

    if as_json:
        print(json.dumps(metrics))
        return
    width = max(len(k) for k in metrics)
    for k, v in metrics.items():
        print(f"{k:{width}s}  {v}")


def _eval_user(args: argparse.Namespace) -> int:

    from agentgym.domains.sgd import load_sgd
    from agentgym.domains.sgd.agents import ScriptedAgent
    from agentgym.domains.sgd.users import load_user_model
    from agentgym.domains.sgd.users.audit import audit_user

    register_envs()
    if args.max_dialogues is not None and args.max_dialogues < 1:
        raise ValueError(f"--max-dialogues must be at least 1 (or left out for all), got {args.max_dialogues}.")
    if args.agent_episodes < 0:
        raise ValueError(f"--agent-episodes must be 0 (skip) or more, got {args.agent_episodes}.")
    if args.naturalness < 0:
        raise ValueError(f"--naturalness must be 0 (skip) or a number of training dialogues, got {args.naturalness}.")
    train_dir = args.train_dir or args.data_dir
    model = load_user_model(train_dir, args.train_split)
    corpus = load_sgd(args.data_dir, args.split)
    metrics: dict[str, object] = {"fitted_on": model.fitted_on, "evaluated_on": f"{corpus.path}"}
    realize = None
    if args.user == "hybrid":
        from agentgym.domains.sgd.users.llm_user import hybrid_realizer
        from agentgym.llm import LLM

        realize = hybrid_realizer(LLM(args.user_llm, temperature=0.7, max_tokens=60), args.seed)
    elif args.user == "dspy":
        from agentgym.domains.sgd.users.dspy_user import AgentgymLM, load_program, program_realizer

        realize = program_realizer(load_program(args.user_program)[0], AgentgymLM(args.user_llm))
    metrics["user"] = args.user
    held_out: list[tuple[str, str]] = []
    metrics.update(audit_user(model, corpus, max_dialogues=args.max_dialogues, seed=args.seed, progress=not args.quiet,
                              realize=realize, texts_out=held_out))
    if args.naturalness:
        from agentgym.domains.sgd.users.realism import naturalness

        seen: list[tuple[str, str]] = []  # the classifier learns on the split the user was fitted on, scored here
        audit_user(model, load_sgd(train_dir, args.train_split), max_dialogues=args.naturalness, seed=args.seed,
                   realize=realize, texts_out=seen)
        metrics.update(naturalness(seen, held_out, seed=args.seed))
    if args.agent_episodes:
        for user in ("goal", "replay"):
            env = gym.make("agentgym/SGD-v0", data_dir=args.data_dir, split=args.split, user=user, user_kwargs={"train_dir": train_dir})
            eps = run_episodes(env, ScriptedAgent(), episodes=min(args.agent_episodes, len(env.unwrapped.task_ids)),
                               seed=args.seed, progress=False)
            row = summarize(eps).iloc[0]
            metrics[f"scripted_success_{user}"] = round(float(row["success_rate"]), 4)
            metrics[f"scripted_turns_{user}"] = round(float(row["mean_turns"]), 2)
    if args.figure:
        from agentgym.domains.sgd.users.realism import realism_figure

        realism_figure(metrics).write_html(args.figure, include_plotlyjs=True)
        metrics["figure"] = args.figure
    if not args.json:  # the table stays readable; --json keeps everything
        metrics = {k: v for k, v in metrics.items() if k not in ("length_hist", "most_simulated") and "examples" not in k}
    _print_metrics(metrics, args.json)
    return 0


def _optimize_user(args: argparse.Namespace) -> int:
    import json

    for name in ("train_turns", "eval_turns", "budget"):  # before anything loads: nothing is learned or scored on none
        if getattr(args, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}.")

    from agentgym.domains.sgd.users.optimize import optimize_program, tune_goal_user

    if args.target == "goal":
        res = tune_goal_user(data_dir=args.data_dir, split=args.split, train_split=args.train_split,
                             max_dialogues=args.eval_turns, out=args.out, seed=args.seed, progress=not args.quiet)
        _print_metrics({"best": json.dumps(res["best"]), "settings_tried": len(res["grid"]), "out": res["out"]}, args.json)
        return 0
    res = optimize_program(data_dir=args.data_dir, split=args.split, train_split=args.train_split, kind=args.target,
                           optimizer=args.optimizer, model=args.model, budget=args.budget, train_turns=args.train_turns,
                           eval_turns=args.eval_turns, out=args.out, seed=args.seed, progress=not args.quiet)
    if res["llm_calls"] and res["llm_failed"] == res["llm_calls"]:
        print(f"agentgym: error: every one of the {res['llm_calls']} LLM calls failed, so nothing was optimized or scored "
              f"(the first error: {res['llm_first_error']}); check --model (a litellm model string) and its server.",
              file=sys.stderr)
        return 1
    if res["error"]:
        print(f"The optimizer failed mid-way ({res['error']}); kept the best program so far (unoptimized) in {res['out']}.")
    flat = {"kind": res["kind"], "optimizer": res["optimizer"], "model": res["model"], "eval_turns": res["eval_turns"]}
    for side in ("before", "after"):
        b = res[side]
        flat[f"fidelity_{side}"] = f"{b['fidelity']:.3f} [{b['fidelity_ci_low']:.3f}, {b['fidelity_ci_high']:.3f}]"
        flat[f"fallback_rate_{side}"] = b["fallback_rate"]
    d = res["difference"]
    flat["difference"] = f"{d['fidelity']:+.3f} [{d['ci_low']:+.3f}, {d['ci_high']:+.3f}] (paired, 95%)"
    flat["out"] = res["out"]
    _print_metrics(res if args.json else flat, args.json)
    return 0


def _eval_judge(args: argparse.Namespace) -> int:

    from agentgym.domains.sgd import load_sgd
    from agentgym.domains.sgd.judge_eval import build_pairs, evaluate_judge
    from agentgym.llm import LLM
    from agentgym.llm.judge import LLMJudge

    if args.pairs < 1:
        raise ValueError(f"--pairs must be at least 1, got {args.pairs}.")
    corpus = load_sgd(args.data_dir, args.split)
    pairs = build_pairs(corpus, n=args.pairs, seed=args.seed)
    if not pairs:
        raise ValueError(f"No (real, corrupted) pairs could be built from {corpus.path}: it needs system turns with slot spans.")
    judge = LLMJudge(LLM(args.model, max_tokens=args.max_tokens, api_base=args.api_base, api_key=args.api_key))
    metrics = {"judge": judge.name, "evaluated_on": str(corpus.path), **evaluate_judge(judge, pairs, progress=not args.quiet)}
    by_role = judge.llm.ledger.by_role().get("judge", {})
    metrics.update({"judge_calls": int(by_role.get("calls", 0)), "judge_cached": int(by_role.get("cached", 0)),
                    "judge_seconds": round(float(by_role.get("latency_s", 0.0)), 1)})
    _print_metrics(metrics, args.json)
    failed = [c for c in judge.llm.ledger.calls if not c.ok]
    if judge.llm.ledger.calls and len(failed) == len(judge.llm.ledger.calls):
        print(f"agentgym: error: every judge call failed ({len(failed)}), so nothing was judged; the first error: "
              f"{failed[0].error}", file=sys.stderr)
        return 1
    if metrics.get("pairs") and metrics.get("judge_unscored_pairs") == metrics["pairs"]:
        print(f"agentgym: error: the judge answered, but none of its {metrics['pairs']} verdicts could be read as a score, so "
              "nothing was judged; try a larger model (--model) or more --max-tokens.", file=sys.stderr)
        return 1
    return 0


def _parse_sets(pairs: list[str]) -> dict[str, object]:
    """`key=value` overrides; values are read as JSON when they parse (numbers, true/null, lists)."""
    import json

    out: dict[str, object] = {}
    for pair in pairs:
        if "=" not in pair:
            raise ValueError(f"--set takes key=value, got {pair!r} (e.g. --set max_steps=5).")
        key, value = pair.split("=", 1)
        key = key.strip()
        if not key:
            raise ValueError(f"--set {pair!r} has no key before '='; write key=value, e.g. --set max_steps=5.")
        if key == "method":
            raise ValueError("--set method=... cannot change the method: it is the command's argument "
                             "(agentgym train sft | agentgym train grpo).")
        if key in out:
            raise ValueError(f"--set gives {key} twice; give each key once.")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def _train(args: argparse.Namespace) -> int:
    from agentgym.train import TrainConfig, train

    cfg = TrainConfig.load(args.config, method=args.method, **_parse_sets(args.set))
    metrics = train(cfg, progress=not args.quiet)
    _print_metrics(metrics, args.json)
    return 0


def _eval_version(args: argparse.Namespace) -> int:
    from agentgym.train import evaluate_version

    metrics = evaluate_version(args.store, args.agent, args.version, env_id=args.env, data_dir=args.data_dir, split=args.split,
                               tasks=args.tasks, max_turns=args.max_turns, seed=args.seed, progress=not args.quiet)
    _print_metrics(metrics, args.json)
    return 0


def _versions(args: argparse.Namespace) -> int:
    from agentgym.store import ExperienceStore

    with ExperienceStore(args.store) as store:
        versions = store.agent_versions()[["id", "agent", "version", "parent_id", "notes", "created_at"]]
        scores = store.version_scores()
    table = versions.merge(scores, on=["agent", "version"], how="left").astype({"parent_id": "Int64"})
    with pd.option_context("display.float_format", "{:.3f}".format, "display.width", 160):
        print(table.to_string(index=False) if len(table) else f"no agent versions in {args.store}")
    return 0


def _compare(args: argparse.Namespace) -> int:
    import json

    from agentgym.experiments import ClusterLost, CompareConfig, compare

    cfg = CompareConfig(tasks=args.tasks, task_file=args.task_file, trials=args.trials, seed=args.seed, env_id=args.env, data_dir=args.data_dir,
                        split=args.split, max_turns=args.max_turns, user=args.user, second_user=args.second_user,
                        primary=args.metric, alpha=args.alpha, margin=args.margin, baseline=args.baseline or None,
                        workers=args.workers, ray=True if args.ray else None, store=args.store)
    try:
        result = compare(args.a, args.b, cfg, progress=not args.quiet)
    except ClusterLost as e:
        print(f"agentgym: error: {e}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result.to_dict()))
        return 0
    print(result.summary())
    rows = [("mean " + k, f"{v:.3f}") for k, v in result.means.items()]
    rows += [("bootstrap CI", f"[{result.boot_low:+.3f}, {result.boot_high:+.3f}]"), ("p (paired t)", f"{result.p_value:.4f}"),
             ("McNemar p (success)", f"{result.mcnemar_p:.4f}"), ("TOST p (±margin)", f"{result.tost_p:.4f}")]
    rows += [(f"{m} (Holm p)", f"{v['diff']:+.3f} ({v['p_holm']:.4f})") for m, v in result.secondary.items()]
    rows += [(f"pass^{k} {arm}", f"{p:.3f}") for arm, ks in result.pass_k.items() for k, p in ks.items() if arm != "baseline"]
    if result.second_user:
        rows.append((f"under {result.second_user['user']}", f"{result.second_user['verdict']} ({result.second_user['diff']:+.3f})"))
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:{width}s}  {v}")
    return 0


def _scenarios(args: argparse.Namespace) -> int:
    from agentgym.domains.sgd.scenarios import generate_scenarios
    from agentgym.domains.sgd.taskfile import save_tasks

    out = Path(args.out)
    if out.is_dir():
        raise ValueError(f"--out {out} is a folder; give a file name, e.g. {out / 'scenarios.jsonl'}.")
    gen = generate_scenarios(args.n, seed=args.seed, families=args.family, data_dir=args.data_dir, split=args.split,
                             progress=not args.quiet)
    if not gen.tasks:
        print(f"agentgym: error: no valid scenario in {gen.attempts} attempts; rejected: {gen.summary()['rejected']}", file=sys.stderr)
        return 1
    save_tasks(out, gen.tasks)
    summary = gen.summary()
    _print_metrics({"written": f"{len(gen.tasks)} task(s) to {out}", "kept": summary["kept"], "attempts": summary["attempts"],
                    **{f"rejected ({k})": v for k, v in summary["rejected"].items()}}, args.json)
    if len(gen.tasks) < args.n:
        why = (" (the corpus gave nothing new in the last attempts: it cannot give more of these families)"
               if gen.exhausted else "")
        print(f"agentgym: only {len(gen.tasks)} of {args.n} valid scenarios within {gen.attempts} attempts{why}.", file=sys.stderr)
    return 0


def _import_traces(args: argparse.Namespace) -> int:
    from agentgym.domains.traces import import_traces, save_trace_tasks

    report = import_traces(args.file)
    print(report.summary(), file=sys.stderr if report.problems else sys.stdout)
    if not report.tasks:
        print(f"agentgym: error: nothing in {args.file} could become a task (see above).", file=sys.stderr)
        return 1
    out = save_trace_tasks(args.out, report.tasks)
    print(f"tasks: {out} (play them: gym.make('agentgym/Traces-v0', tasks='{out}'))")
    return 0


def _add_data_args(p: argparse.ArgumentParser, what: str = "", any_env: bool = False) -> None:
    p.add_argument("--data-dir", default=None, help=f"SGD-format directory{what} (default: the embedded sample)")
    if any_env:
        p.add_argument("--split", default=None, help="which tasks (default: the env's: dev for SGD; tau2: base, or train/test)")
    else:
        p.add_argument("--split", default="dev", help="split under --data-dir (default: dev)")


def _user_names() -> list[str]:
    """Every domain's user names (each env accepts its own domain's)."""
    from agentgym.domain import domains

    return sorted({u for d in domains().values() for u in d.user_names()})


def _agents_help() -> str:
    from agentgym.domain import domains

    return "agent(s) to play (" + "; ".join(f"{d.name}: {', '.join(d.agents)}" for d in domains().values() if d.agents) + \
        "; any env: noop, noisy, hf), each name[:k=v,...] (noisy:epsilon=0.1) or your own module:Class[:k=v,...] " \
        "(my_agents:EchoAgent, or path/to/agents.py:EchoAgent)"


def _seed(text: str) -> int:
    """--seed: a whole number from 0 (what gymnasium's seeding accepts)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number from 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more (seeds are non-negative), got {value}")
    return value


def _add_output_args(p: argparse.ArgumentParser, json_flag: bool = True) -> None:
    p.add_argument("--seed", type=_seed, default=0, help="first episode seed (0 or more)")
    if json_flag:
        p.add_argument("--json", action="store_true", help="print the metrics as one JSON object on the last line")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


class DefaultsFormatter(argparse.HelpFormatter):
    """Each option's default after its help, unless the help already says it or there is none to show."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if ("default" in text or action.default in (None, False, argparse.SUPPRESS) or not action.option_strings
                or action.required):
            return text
        return text + " (default: %(default)s)"


def build_parser() -> argparse.ArgumentParser:
    register_envs()  # plugin domains' ids and users become choices
    parser = argparse.ArgumentParser(prog="agentgym", description="Dialogue traces as RL environments.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="play episodes of one or more agents and print a summary table")
    run.add_argument("--agent", nargs="+", default=["scripted"], help=_agents_help())
    run.add_argument("--env", default="agentgym/SGD-v0", choices=sorted(ENV_IDS), help="gymnasium id")
    _add_data_args(run, any_env=True)
    run.add_argument("--user", default=None, choices=_user_names(),
                     help="simulated user of the env's domain (default: goal for SGD, offline for tau2 domains)")
    run.add_argument("--episodes", type=int, default=None, help="episodes per agent (default: every task once)")
    run.add_argument("--tasks", default=None, help="a task file (JSONL) to play instead of the split's tasks, e.g. from `agentgym scenarios`")
    run.add_argument("--max-turns", type=int, default=40, help="turn limit per episode")
    run.add_argument("--out", default="runs", help="folder for <agent>.jsonl trajectories (default: runs)")
    _add_output_args(run, json_flag=False)
    run.set_defaults(func=_run)

    ev = sub.add_parser("eval-user", help="audit the goal-driven user against real SGD users")
    _add_data_args(ev, " to evaluate on")
    ev.add_argument("--train-dir", default=None, help="SGD-format directory to fit on (default: --data-dir)")
    ev.add_argument("--train-split", default="train", help="split to fit on (default: train)")
    ev.add_argument("--max-dialogues", type=int, default=None, help="evaluate on the first N dialogues only")
    ev.add_argument("--agent-episodes", type=int, default=200,
                    help="also play the scripted agent against this user and trace replay (0: skip)")
    ev.add_argument("--figure", default=None, help="write the text-realism figure (plotly HTML) here")
    ev.add_argument("--naturalness", type=int, default=2000,
                    help="train a classifier to tell simulated from human turns on this many dialogues of --train-split and "
                         "report its accuracy on the audited split (0.5 = indistinguishable; 0: skip)")
    ev.add_argument("--user", choices=["goal", "hybrid", "dspy"], default="goal",
                    help="whose words to audit: the template wording (goal), or an LLM wording of the same acts, checked "
                         "and replaced like in the env (hybrid: --user-llm; dspy: --user-program); reports llm_fallback_rate")
    ev.add_argument("--user-program", default=None, help="program.json for --user dspy (default: the shipped program)")
    ev.add_argument("--user-llm", default=None, help="litellm model string for --user hybrid/dspy (default: the local model)")
    _add_output_args(ev)
    ev.set_defaults(func=_eval_user)

    op = sub.add_parser("optimize-user", help="optimize a DSPy user program (or tune the goal user's knobs) against real users")
    _add_data_args(op, " (held-out turns come from --split, training turns from --train-split)")
    op.add_argument("--train-split", default="train", help="split to optimize on (default: train)")
    op.add_argument("--target", choices=["realizer", "user", "goal"], default="realizer",
                    help="realizer: acts → words (the dspy user); user: goal + history → words; goal: the offline user's knobs")
    op.add_argument("--optimizer", default="labeled",
                    choices=["none", "labeled", "knn", "bootstrap", "random-search", "mipro", "gepa"],
                    help="DSPy optimizer; mipro and gepa rewrite instructions and need --model (default: labeled)")
    op.add_argument("--model", default=None, help="litellm model string for the program (default: the local SmolLM2)")
    op.add_argument("--budget", type=int, default=4, help="demos per program, or candidate programs for random-search")
    op.add_argument("--train-turns", type=int, default=40, help="real user turns to optimize on")
    op.add_argument("--eval-turns", type=int, default=60,
                    help="held-out real user turns to score on (--target goal: dialogues to audit)")
    op.add_argument("--out", default="program.json", help="where to save the program (or the persona for --target goal)")
    _add_output_args(op)
    op.set_defaults(func=_optimize_user)

    ej = sub.add_parser("eval-judge", help="how often the LLM judge prefers real SGD turns over corrupted ones")
    _add_data_args(ej)
    ej.add_argument("--model", default=None, help="litellm model string (default: local/smollm2-135m)")
    ej.add_argument("--pairs", type=int, default=40, help="number of (real, corrupted) pairs")
    ej.add_argument("--max-tokens", type=int, default=160, help="most tokens the judge may write per verdict")
    ej.add_argument("--api-base", default=None, help="OpenAI-compatible server for the judge model (e.g. a local vLLM)")
    ej.add_argument("--api-key", default=None, help="its API key (never stored: configs are scrubbed)")
    _add_output_args(ej)
    ej.set_defaults(func=_eval_judge)

    tr = sub.add_parser("train", help="SFT or multi-turn GRPO of the policy model; every checkpoint becomes a version")
    tr.add_argument("method", choices=["sft", "grpo"])
    tr.add_argument("--config", default=None, help="JSON or YAML file of TrainConfig fields (default: all defaults)")
    tr.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="override config fields, e.g. max_steps=5")
    _add_output_args(tr)
    tr.set_defaults(func=_train)

    es = sub.add_parser("eval", help="score an agent version on held-out tasks and record the episodes in the store")
    es.add_argument("--store", default="agentgym-store", help="experience store (folder or SQLAlchemy URL)")
    es.add_argument("--agent", default="smollm2-policy", help="the stored agent whose version is scored")
    es.add_argument("--version", required=True, help="the version to score (`agentgym versions` lists them)")
    es.add_argument("--env", default="agentgym/SGD-v0", choices=sorted(ENV_IDS), help="gymnasium id to score on")
    _add_data_args(es, any_env=True)
    es.add_argument("--tasks", type=int, default=20, help="number of held-out tasks (the first N of the split)")
    es.add_argument("--max-turns", type=int, default=12, help="turn limit per episode")
    _add_output_args(es)
    es.set_defaults(func=_eval_version)

    cp = sub.add_parser("compare", help="is B better than A? paired on shared tasks and seeds, with a verdict")
    cp.add_argument("a", help="agent A: a registry name (scripted), name:k=v,... (noisy:epsilon=0.1), your own "
                    "module:Class[:k=v,...] (my_agents:EchoAgent) or agent@version (stored)")
    cp.add_argument("b", help="agent B, written the same way")
    cp.add_argument("--env", default="agentgym/SGD-v0", choices=sorted(ENV_IDS), help="gymnasium id")
    _add_data_args(cp, any_env=True)
    cp.add_argument("--tasks", type=int, default=40, help="number of tasks (the first N of the split, or of --task-file)")
    cp.add_argument("--task-file", default=None, help="a task file (JSONL) to play instead of the split's tasks: from "
                    "`agentgym scenarios` or `agentgym import-traces` (with --env agentgym/Traces-v0)")
    cp.add_argument("--trials", type=int, default=1, help="episodes per task and version, seeds shared")
    cp.add_argument("--max-turns", type=int, default=40, help="turn limit per episode")
    cp.add_argument("--user", default=None, choices=_user_names(), help="simulated user (default: the env's)")
    cp.add_argument("--second-user", default=None, choices=_user_names(),
                    help="rerun under this user too and flag a sign flip (simulator-sensitive)")
    cp.add_argument("--metric", default="success", choices=["success", "reward", "turns"], help="what the verdict is about")
    cp.add_argument("--alpha", type=float, default=0.05, help="error rate of the verdict (two-sided)")
    cp.add_argument("--margin", type=float, default=0.05, help="differences within ±margin count as equivalent")
    cp.add_argument("--baseline", default="noop", help="no-op baseline played alongside ('' to skip)")
    cp.add_argument("--workers", type=int, default=1, help="local worker processes")
    cp.add_argument("--ray", action="store_true", help="run on Ray (also when RAY_ADDRESS is set)")
    cp.add_argument("--store", default=None, help="record every episode here (folder or SQLAlchemy URL; made if missing)")
    _add_output_args(cp)
    cp.set_defaults(func=_compare)

    sc = sub.add_parser("scenarios", help="generate new tasks (validated) into a task file the env plays with tasks=FILE")
    sc.add_argument("--n", type=int, default=20, help="number of valid scenarios to write")
    sc.add_argument("--out", required=True, help="JSONL task file to write (atomically)")
    sc.add_argument("--family", nargs="+", default=["recombine", "change_of_mind", "impatient", "withholding"],
                    choices=["recombine", "change_of_mind", "impatient", "withholding"], help="scenario families, taken in turn")
    _add_data_args(sc, " to draw from")
    _add_output_args(sc)
    sc.set_defaults(func=_scenarios)

    it = sub.add_parser("import-traces", help="OpenAI-format / APIGen-MT conversations with tool calls → a trace task file")
    it.add_argument("file", help="JSONL of conversations")
    it.add_argument("--out", required=True, help="trace task file to write (JSONL)")
    it.set_defaults(func=_import_traces)

    sv = sub.add_parser("serve", help="serve an env over the network with OpenEnv's contract (WebSocket sessions, task API)",
                        formatter_class=DefaultsFormatter)
    sv.add_argument("--env", required=True, choices=sorted(ENV_IDS), help="gymnasium id to serve")
    _add_data_args(sv, any_env=True)
    sv.add_argument("--user", default=None, choices=_user_names(), help="simulated user of the env's domain (default: the env's)")
    sv.add_argument("--tasks", default=None, help="a task file (JSONL) to serve instead of the split's tasks")
    sv.add_argument("--max-turns", type=int, default=None, help="episode turn limit (default: the env's)")
    sv.add_argument("--host", default="127.0.0.1", help="address to bind; anything but loopback needs --token")
    sv.add_argument("--port", type=int, default=8000, help="port to bind")
    sv.add_argument("--token", default=None, help="clients must send 'Authorization: Bearer TOKEN' "
                    "(or set AGENTGYM_SERVE_TOKEN)")
    sv.add_argument("--workers", type=int, default=1, help="server processes behind the one address (sessions spread over them)")
    sv.add_argument("--max-sessions", type=int, default=64, help="concurrent sessions per process; more are refused")
    sv.add_argument("--idle-timeout", type=float, default=300.0, help="seconds before an idle session is closed")
    sv.add_argument("--info", choices=["compact", "full"], default="compact",
                    help="step info on the wire: compact leaves out what repeats each step (messages, tools, policy)")
    sv.add_argument("--write-package", metavar="DIR", default=None,
                    help="write an OpenEnv package (openenv.yaml with its validation block, server/app.py, oracle.py) "
                    "for this env and settings into DIR, and exit")
    sv.set_defaults(func=_serve)

    ex = sub.add_parser("export-app", help="the marimo workbench app as a static page that opens with no network")
    ex.add_argument("--app", default="notebooks/workbench_app.py", help="the marimo app to export")
    ex.add_argument("--out", default="site/workbench.html", help="the page to write (marimo's front end goes beside it)")
    ex.add_argument("--store", default="agentgym-store", help="store the page shows")
    ex.add_argument("--demo", action="store_true", help="first fill the store with the demo (baselines, a briefly trained "
                    "policy, the local judge; a few minutes on CPU, once)")
    ex.add_argument("--timeout", type=float, default=1800, help="seconds the export may take before it is stopped")
    ex.add_argument("--quiet", action="store_true", help="no progress messages")
    ex.set_defaults(func=_export_app)

    sh = sub.add_parser("show", help="read a trajectory file (runs/<agent>.jsonl): a table of its episodes, or one in full")
    sh.add_argument("file", help="a .jsonl written by `agentgym run --out DIR` (or its .partial)")
    sh.add_argument("--episode", type=int, default=None, help="print this episode (its row number in the table) in full")
    sh.add_argument("--task", default=None, help="print the first episode of this task id in full")
    sh.add_argument("--rows", type=int, default=60, help="most rows of the table to print")
    sh.set_defaults(func=_show)

    vs = sub.add_parser("versions", help="agent versions in a store with their evaluation scores")
    vs.add_argument("--store", default="agentgym-store", help="experience store (folder or SQLAlchemy URL)")
    vs.set_defaults(func=_versions)
    for command in sub.choices.values():  # every --help shows each option's default next to its help
        command.formatter_class = DefaultsFormatter
    return parser


# what an interrupted command has finished and kept, said in one line (Ctrl-C exits 130, never a traceback)
KEPT = {
    "run": "trajectories of the episodes that finished are in {out}/<agent>.jsonl.partial; the last complete run's "
           "<agent>.jsonl files are untouched",
    "compare": "{store_note}",
    "eval": "the episodes that finished are recorded in {store}",
    "train": "checkpoints saved so far are in {output_dir} and registered as versions in the store",
    "scenarios": "nothing was written to {out} (it is written whole at the end)",
    "import-traces": "nothing was written to {out} (it is written whole at the end)",
    "eval-user": "nothing was written; LLM answers so far are cached, so a rerun is faster",
    "eval-judge": "nothing was written; judge answers so far are cached, so a rerun is faster",
    "optimize-user": "nothing was written to {out}; LLM answers so far are cached, so a rerun is faster",
    "versions": "nothing was changed",
    "show": "nothing was changed",
    "export-app": "the demo episodes played so far are in {store} (a rerun finishes the rest); no page was written",
    "serve": "the server stopped; sessions were closed (nothing is stored)",
}


def _interrupted(args: argparse.Namespace) -> str:
    fields = {k: getattr(args, k, None) for k in ("out", "store", "output_dir")}
    if args.command == "compare":
        fields["store_note"] = (f"the episodes that finished are recorded in {args.store}" + (
            " (each worker's last unwritten batch, up to 16 episodes, is lost)" if args.workers > 1 else "") if args.store else
                                "nothing was kept (pass --store to keep every finished episode)")
    if args.command == "run":
        partials = sorted(Path(args.out).glob("*.jsonl.partial")) if Path(args.out).is_dir() else []
        done = sum(sum(1 for _ in p.open(encoding="utf-8")) for p in partials)
        return f"{done} finished episode(s) kept in {', '.join(map(str, partials)) or args.out}; the last complete " \
               "run's <agent>.jsonl files are untouched"
    if args.command == "train":
        fields["output_dir"] = "the config's output_dir"
    return KEPT.get(args.command, "nothing was kept").format(**{k: v if v is not None else "-" for k, v in fields.items()})


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print(f"agentgym: interrupted: {_interrupted(args)}.", file=sys.stderr)
        return 130
    except ImportError as e:  # an optional extra is not installed
        extra = EXTRA_OF.get((e.name or "").split(".")[0])
        hint = (f"pip install 'agentgym-workbench[{extra}]'" if extra else
                "pip install 'agentgym-workbench[train]' (training, the hf agent) or 'agentgym-workbench[llm]' (LLM users "
                "and judges)")
        print(f"agentgym: error: {e}. Install the extra that provides it: {hint}.", file=sys.stderr)
        return 2
    except (OSError, KeyError, ValueError, TypeError, StoreError, gym.error.Error, RecursionError) as e:
        message = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"agentgym: error: {message}", file=sys.stderr)
        return 2
    except MemoryError:
        print("agentgym: error: out of memory; an input is far larger than expected (check the files and sizes you "
              "passed).", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
