"""%vigilo pricing update against a real sidecar and a loopback server playing LiteLLM's price file."""
from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pytest
from IPython.core.error import UsageError

from fakes.server import LoopbackServer, Reply

ROOT = Path(__file__).resolve().parent.parent
REAL = json.loads(gzip.decompress((ROOT / "test/fixtures/pricing/litellm-1.110.2-model_prices.json.gz").read_bytes()))


@pytest.fixture
def loaded(ip, vigilo_data_dir, sidecar_built):
    ip.run_line_magic("load_ext", "vigilo")
    ip.run_line_magic("vigilo", "")
    yield ip
    ip.run_line_magic("unload_ext", "vigilo")


def test_pricing_update_says_what_changed_and_a_failure_keeps_the_previous_prices(loaded, vigilo_data_dir):
    today = json.loads(json.dumps(REAL))
    today["gpt-4o"]["input_cost_per_token"] = 2e-6
    today["gpt-9-mini"] = {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 1e-7, "output_cost_per_token": 4e-7}
    with LoopbackServer(lambda request: Reply(200, today)) as good:
        report = loaded.run_line_magic("vigilo", f"pricing update --from {good.url}/model_prices_and_context_window.json")
    text = repr(report)
    assert "Added" in text and "gpt-9-mini" in text
    assert "gpt-4o $2.5/$10 → $2/$10" in text
    kept = (vigilo_data_dir / "pricing-update.json").read_text()
    assert oct(os.stat(vigilo_data_dir / "pricing-update.json").st_mode & 0o777) == "0o600"
    with LoopbackServer(lambda request: Reply(500, {"error": "down"})) as down:
        with pytest.raises(UsageError, match="previous ones are kept.*HTTP 500"):
            loaded.run_line_magic("vigilo", f"pricing update --from {down.url}/x.json")
    assert (vigilo_data_dir / "pricing-update.json").read_text() == kept
    with pytest.raises(UsageError, match="usage: %vigilo pricing update"):
        loaded.run_line_magic("vigilo", "pricing refresh")
