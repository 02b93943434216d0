"""The experience store: every episode, step, rating and verdict, kept safe and easy to query."""
from agentgym.scrub import scrub
from agentgym.store.agreement import human_vs_judge, rater_vs_rater
from agentgym.store.export import export_chat_jsonl, preference_pairs, sft_examples, to_chat, to_dataset
from agentgym.store.recorder import EpisodeRecorder, RecordEpisodes
from agentgym.store.store import SCALES, ExperienceStore, StoreError, as_store, normalize_rating

__all__ = [
    "SCALES", "as_store", "EpisodeRecorder", "ExperienceStore", "RecordEpisodes", "export_chat_jsonl", "human_vs_judge",
    "StoreError", "normalize_rating", "preference_pairs", "rater_vs_rater", "scrub", "sft_examples", "to_chat", "to_dataset",
]
