"""Rebuild data/sgd/ (the embedded sample) from a full SGD directory.

    python scripts/make_sgd_sample.py ../shared/data/sgd data/sgd

Keeps the official layout (schema.json + dialogues_001.json.gz per split) and picks, per split,
the first dialogues (by id) of every service so that all services of the split are represented.
"""
from __future__ import annotations

import gzip
import json
import shutil
import sys
from pathlib import Path

PER_SERVICE = {"train": 24, "dev": 12}


def sample_split(src: Path, dst: Path, per_service: int) -> tuple[int, int]:
    dialogues = []
    for f in sorted(src.glob("dialogues_*.json*")):
        raw = f.read_bytes()
        dialogues.extend(json.loads(gzip.decompress(raw) if f.suffix == ".gz" else raw))
    dialogues.sort(key=lambda d: d["dialogue_id"])
    counts: dict[str, int] = {}
    chosen = []
    for d in dialogues:
        if any(counts.get(s, 0) < per_service for s in d["services"]):
            chosen.append(d)
            for s in d["services"]:
                counts[s] = counts.get(s, 0) + 1
    dst.mkdir(parents=True, exist_ok=True)
    shutil.copy(src / "schema.json", dst / "schema.json")
    payload = json.dumps(chosen, indent=None, ensure_ascii=False).encode()
    (dst / "dialogues_001.json.gz").write_bytes(gzip.compress(payload, compresslevel=9, mtime=0))
    return len(chosen), len(counts)


def main() -> None:
    src, dst = Path(sys.argv[1]), Path(sys.argv[2])
    for split, n in PER_SERVICE.items():
        kept, services = sample_split(src / split, dst / split, n)
        print(f"{split}: {kept} dialogues, {services} services")
    for name in ("LICENSE.txt",):
        if (src / name).exists():
            shutil.copy(src / name, dst / name)


if __name__ == "__main__":
    main()
