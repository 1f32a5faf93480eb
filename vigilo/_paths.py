"""Where Vigilo keeps its state. Same three steps as src/shared/dataDir.ts."""
from __future__ import annotations

import os
from pathlib import Path


def data_dir(env: "os._Environ[str] | dict[str, str] | None" = None, home: "Path | None" = None) -> Path:
    """$VIGILO_DATA_DIR, else $XDG_DATA_HOME/vigilo, else ~/.local/share/vigilo."""
    env = os.environ if env is None else env
    if env.get("VIGILO_DATA_DIR"):
        return Path(env["VIGILO_DATA_DIR"])
    if env.get("XDG_DATA_HOME"):
        return Path(env["XDG_DATA_HOME"]) / "vigilo"
    return (Path.home() if home is None else home) / ".local" / "share" / "vigilo"
