"""Where torch runs: the configured device, checked against this machine."""

from __future__ import annotations

import torch

from .errors import ConfigError


def pick_device(setting: str) -> torch.device:
    """The configured device; one this machine lacks is a config error, not a torch crash."""
    available = {"cpu": True, "cuda": torch.cuda.is_available()}
    available["mps"] = torch.backends.mps.is_available()
    if setting != "auto":
        if not available[setting]:
            raise ConfigError(
                f"train.device is {setting}, but {setting.upper()} is not available on this"
                " machine (or in this torch build); use train.device=auto or cpu"
            )
        return torch.device(setting)
    return torch.device(next(name for name in ("cuda", "mps", "cpu") if available[name]))
