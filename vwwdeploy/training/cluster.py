"""The cluster of `train --strategy multi-worker`: TF_CONFIG, or --workers host:port,... plus --task-index.

TensorFlow's MultiWorkerMirroredStrategy reads the cluster from the TF_CONFIG environment variable; --workers
writes that variable for this process so a user need not hand-write JSON. The chief (task "chief", or worker 0
when the cluster has no chief) is the only one that writes the train dir: config, checkpoints, summaries.
"""

from __future__ import annotations

import json
import os

from vwwdeploy.errors import UserError


def parse_workers(text: str) -> list[str]:
    workers = [w.strip() for w in text.split(",") if w.strip()]
    for w in workers:
        host, _, port = w.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise UserError(f"--workers {text!r}: {w!r} is not host:port")
    if len(set(workers)) != len(workers):
        raise UserError(f"--workers {text!r}: a worker is listed twice")
    return workers


def set_tf_config(workers: list[str], task_index: int) -> None:
    if not 0 <= task_index < len(workers):
        raise UserError(f"--task-index must be 0..{len(workers) - 1} for {len(workers)} workers, not {task_index}")
    os.environ["TF_CONFIG"] = json.dumps(
        {"cluster": {"worker": workers}, "task": {"type": "worker", "index": task_index}}
    )


def tf_config() -> dict:
    """The parsed TF_CONFIG; refused with one line when missing or malformed."""
    text = os.environ.get("TF_CONFIG")
    if not text:
        raise UserError("--strategy multi-worker needs the cluster: set TF_CONFIG, or give --workers and --task-index")
    try:
        config = json.loads(text)
        cluster, task = config["cluster"], config["task"]
        members = cluster[task["type"]]
        int(task["index"])
    except (ValueError, KeyError, TypeError) as exc:
        raise UserError(f"TF_CONFIG is not a usable cluster description ({exc!r})") from None
    if not 0 <= int(task["index"]) < len(members):
        raise UserError(f"TF_CONFIG task index {task['index']} is outside its {task['type']} list")
    return config


def is_chief(config: dict) -> bool:
    task = config["task"]
    if "chief" in config["cluster"]:
        return task["type"] == "chief"
    return task["type"] == "worker" and int(task["index"]) == 0
