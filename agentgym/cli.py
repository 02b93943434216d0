"""`agentgym` command line: play episodes and summarize them."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import gymnasium as gym
import pandas as pd

from agentgym.agents import AGENTS, make_agent
from agentgym.registration import ENV_IDS, register_envs
from agentgym.runner import run_episodes, summarize
from agentgym.users import USERS


def _run(args: argparse.Namespace) -> int:
    register_envs()
    kwargs = {"split": args.split, "max_turns": args.max_turns, "user": args.user}
    if args.data_dir:
        kwargs["data_dir"] = args.data_dir
    env = gym.make(args.env, **kwargs)
    episodes = []
    out_dir = Path(args.out)
    for name in args.agent:
        agent = make_agent(name)
        out = out_dir / f"{name}.jsonl"
        episodes += run_episodes(env, agent, episodes=args.episodes, seed=args.seed, progress=not args.quiet, out=out)
        print(f"trajectories: {out}", file=sys.stderr)
    table = summarize(episodes)
    with pd.option_context("display.float_format", "{:.3f}".format, "display.width", 120):
        print(table.to_string())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="agentgym", description="Dialogue traces as RL environments.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="play episodes of one or more agents and print a summary table")
    run.add_argument("--agent", nargs="+", default=["scripted"], choices=sorted(AGENTS), help="agent(s) to play")
    run.add_argument("--env", default="agentgym/SGD-v0", choices=sorted(ENV_IDS), help="gymnasium id")
    run.add_argument("--data-dir", default=None, help="SGD-format directory (default: the embedded sample)")
    run.add_argument("--split", default="dev", help="split under --data-dir (default: dev)")
    run.add_argument("--user", default="replay", choices=sorted(USERS), help="simulated user")
    run.add_argument("--episodes", type=int, default=None, help="episodes per agent (default: every task once)")
    run.add_argument("--max-turns", type=int, default=40)
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--out", default="runs", help="folder for <agent>.jsonl trajectories (default: runs)")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.set_defaults(func=_run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (FileNotFoundError, KeyError, ValueError) as e:
        print(f"agentgym: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
