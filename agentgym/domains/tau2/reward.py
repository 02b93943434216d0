"""tau2-bench's reward, exactly (`evaluate_simulation` with EvaluationType.ALL):

- 0 unless the episode ended by an agent stop or a user stop (a step limit scores 0);
- 1 for a task without evaluation criteria;
- DB: the agent's and the user's DB equal to the gold actions replayed on a fresh DB (compared
  record by record, see `state.py`; gold states cached per task), ENV_ASSERTION: the task's env
  assertions hold, ACTION: every gold action was called (tau2's `compare_with_tool_call`, with
  `compare_args`), COMMUNICATE: every `communicate_info` string said by the agent (tau2's check);
- the reward is the product over the task's `reward_basis` (`RUBRIC`, combine="product").

ACTION and COMMUNICATE are tau2's own evaluator functions; `info["reward_info"]` is tau2's
`RewardInfo` as JSON. The parity test checks the whole against tau2's evaluator.
"""
from __future__ import annotations

import json
from typing import Any

from agentgym.rubric import Criterion, Rubric


def _part(name: str) -> Any:
    return lambda info: (None if (v := {str(k).lower(): v for k, v in (info.get("reward_breakdown") or {}).items()}.get(name)) is None
                         else float(v))


# tau2's reward basis as a rubric: the product of the checks in the task's basis (the others are None)
RUBRIC = Rubric((
    Criterion("db", 1.0, _part("db"), help="agent and user DB equal to the gold actions' DB"),
    Criterion("env_assertion", 1.0, _part("env_assertion"), help="the task's env assertions hold"),
    Criterion("action", 1.0, _part("action"), help="every gold action was called (tau2's compare_args)"),
    Criterion("communicate", 1.0, _part("communicate"), help="every communicate_info string said"),
), combine="product")
COMPONENTS = RUBRIC.names


def tau2_reward(world: Any, task: Any, trajectory: list[Any], termination: str | None) -> tuple[float, dict[str, Any]]:
    """(reward, tau2 RewardInfo as a dict) for an episode of `task` played in `world`."""
    from tau2.data_model.simulation import DBCheck, EnvAssertionCheck, RewardInfo
    from tau2.data_model.tasks import RewardType
    from tau2.evaluator.evaluator_action import ActionEvaluator
    from tau2.evaluator.evaluator_communicate import CommunicateEvaluator

    if termination not in ("agent_stop", "user_stop"):
        info = RewardInfo(reward=0.0, reward_basis=None,
                          info={"note": f"Simulation terminated prematurely. Termination reason: {termination or 'not ended'}"})
        return 0.0, _json(info)
    criteria = task.evaluation_criteria
    if criteria is None:
        return 1.0, _json(RewardInfo(reward=1.0, reward_basis=None, info={"note": "No evaluation criteria"}))

    # environment: DB and env assertions
    if criteria.actions is None and criteria.env_assertions is None:
        db_check, env_checks, db_reward, assertion_reward = DBCheck(db_match=True, db_reward=1.0), [], 1.0, 1.0
    else:
        match = world.db_match(task, world.fingerprints())
        db_reward = 1.0 if match else 0.0
        db_check = DBCheck(db_match=match, db_reward=db_reward)
        env_checks, assertion_reward = [], 1.0
        for assertion in criteria.env_assertions or []:
            try:
                met = bool(world.env.run_env_assertion(assertion, raise_assertion_error=False))
            except Exception:  # noqa: BLE001 - an assertion that cannot even run (a missing record) is not met;
                met = False    # tau2's evaluator raises here and scores nothing
            env_checks.append(EnvAssertionCheck(env_assertion=assertion, met=met, reward=1.0 if met else 0.0))
            assertion_reward *= 1.0 if met else 0.0

    # actions and communication: tau2's own checks
    action_checks = ActionEvaluator.evaluate_actions(trajectory, criteria.actions) if criteria.actions else []
    action_reward = 1.0 if all(c.action_match for c in action_checks) else 0.0
    communicate_checks = (CommunicateEvaluator.evaluate_communicate_info(trajectory, criteria.communicate_info)
                          if criteria.communicate_info else [])
    communicate_reward = 1.0 if all(c.met for c in communicate_checks) else 0.0

    basis = set(criteria.reward_basis)
    reward, breakdown = 1.0, {}
    if basis & {RewardType.DB, RewardType.ENV_ASSERTION}:
        if RewardType.DB in basis:
            breakdown[RewardType.DB] = db_reward
            reward *= db_reward
        if RewardType.ENV_ASSERTION in basis:
            breakdown[RewardType.ENV_ASSERTION] = assertion_reward
            reward *= assertion_reward
    if RewardType.ACTION in basis:
        breakdown[RewardType.ACTION] = action_reward
        reward *= action_reward
    if RewardType.NL_ASSERTION in basis:
        raise ValueError("NL assertions are part of the reward basis, but they are not being evaluated.")
    if RewardType.COMMUNICATE in basis:
        breakdown[RewardType.COMMUNICATE] = communicate_reward
        reward *= communicate_reward
    info = RewardInfo(reward=reward, db_check=db_check, env_assertions=env_checks, action_checks=action_checks,
                      communicate_checks=communicate_checks, reward_basis=criteria.reward_basis, reward_breakdown=breakdown)
    return reward, _json(info)


def breakdown_of(reward: float, info: dict[str, Any]) -> dict[str, float | None]:
    """agentgym's reward_breakdown: each criterion of `RUBRIC` (None when not in the task's basis), success and
    total. The total is tau2's reward itself: `RUBRIC.total` of the parts, and 0 when the episode did not end by
    an agent or user stop (tau2's rule)."""
    out = RUBRIC.score(info)
    del out["total"]
    out["success"] = 1.0 if reward >= 1.0 else 0.0
    out["total"] = float(reward)
    return out


def _json(info: Any) -> dict[str, Any]:
    return json.loads(info.model_dump_json())
