"""TrainConfig: the model configuration and hyper-parameters of a train dir (its config.json).

Defaults reproduce the seed's tf.slim run of `train_image_classifier.py` for the person detector:
mobilenet_v1_025, 96x96 grayscale, learning rate 0.045 decayed x0.98 every 2.5 epochs (staircase),
RMSProp (decay 0.9, momentum 0.9, epsilon 1.0), label smoothing 0.1, weight decay 4e-5, moving-average
decay 0.9999, batch 96, 1,000,000 steps.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from vwwdeploy.atomic import atomic_write_text
from vwwdeploy.errors import UserError

CONFIG_FILE = "config.json"
CONFIG_FORMAT = "vwwdeploy-train-config"
# The fields that define the network's shape: a train dir holding another combination is another model.
MODEL_FIELDS = ("width", "image_size", "channels", "num_classes")


@dataclass
class TrainConfig:
    width: float = 0.25
    image_size: int = 96
    channels: int = 1
    num_classes: int = 2
    label_names: list[str] = field(default_factory=lambda: ["notperson", "person"])
    learning_rate: float = 0.045
    learning_rate_decay_factor: float = 0.98
    num_epochs_per_decay: float = 2.5
    rmsprop_decay: float = 0.9
    rmsprop_momentum: float = 0.9
    rmsprop_epsilon: float = 1.0
    label_smoothing: float = 0.1
    weight_decay: float = 4e-5
    moving_average_decay: float = 0.9999
    batch_size: int = 96
    max_steps: int = 1_000_000
    seed: int = 0
    augment: bool = True
    dataset: str = ""
    train_examples: int = 0
    synthetic: bool = False

    def model_signature(self) -> dict:
        return {name: getattr(self, name) for name in MODEL_FIELDS}

    def describe_model(self) -> str:
        return (
            f"MobileNetV1 width {self.width:g}, {self.image_size}x{self.image_size}x{self.channels}, "
            f"{self.num_classes} classes"
        )

    def decay_steps(self) -> int:
        """slim: int(num_samples_per_epoch * num_epochs_per_decay / batch_size), at least 1."""
        return max(1, int(self.train_examples * self.num_epochs_per_decay / self.batch_size))

    def save(self, train_dir: Path) -> None:
        data = {"format": CONFIG_FORMAT, **asdict(self)}
        atomic_write_text(Path(train_dir) / CONFIG_FILE, json.dumps(data, indent=2) + "\n")

    @classmethod
    def load(cls, train_dir: Path) -> TrainConfig:
        path = Path(train_dir) / CONFIG_FILE
        if not Path(train_dir).is_dir():
            raise UserError(f"{train_dir}: no such train dir")
        if not path.is_file():
            raise UserError(
                f"{train_dir} is not a vwwdeploy train dir (no {CONFIG_FILE}); train one with `vwwdeploy train`"
            )
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UserError(f"{path}: unreadable train config ({exc})") from None
        if not isinstance(data, dict) or data.get("format") != CONFIG_FORMAT:
            raise UserError(f"{path} is not a vwwdeploy train config")
        known = {f.name for f in fields(cls)}
        try:
            return cls(**{k: v for k, v in data.items() if k in known})
        except TypeError as exc:
            raise UserError(f"{path}: bad train config ({exc})") from None
