"""OpenTelemetry export against a real Arize Phoenix (arize-phoenix 20.26.1 from
.venv-phoenix, `phoenix serve` on loopback): LLM calls made through the wrapped
Python and TypeScript OpenAI SDKs (against the loopback fake provider) arrive as
GenAI spans that Phoenix reads natively: model, token counts, Vigilo's cost (and
Phoenix's own price for it), the conversation as Phoenix's session. The content
switch is honoured, and spans recorded while Phoenix was unreachable arrive
when it returns, up to the queue's bound.
"""
from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest

from fakes.openai_fake import FakeOpenAI
from llm_fixtures import llm, openai_client  # noqa: F401 - the `llm` fixture
from otel_fixtures import ROOT, TcpRelay, free_port, http, llm_event, sidecar, start_phoenix, start_sidecar, until  # noqa: F401 - start_sidecar is a fixture

from vigilo import _export_magic

MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "The secret word is heliotrope."}]

TS_CALLS = r"""
const { wrap, track, flush, configure } = require(process.env.VIGILO_CLIENT);
const { OpenAI } = require('openai');
(async () => {
  configure({ dataDir: process.env.VIGILO_DATA_DIR });
  const client = wrap(new OpenAI({ apiKey: 'sk-fake-key', baseURL: process.env.FAKE_OPENAI, maxRetries: 0 }));
  await track(() => client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'The secret word is heliotrope.' }] }), { conversationId: process.env.CONVERSATION, tags: { lang: 'ts' } });
  await flush();
})().catch(e => { console.error(e); process.exit(1); });
"""


@pytest.fixture(scope="module")
def phoenix(tmp_path_factory, sidecar_built):
    port = free_port()
    server = start_phoenix(tmp_path_factory.mktemp("phoenix"), port)
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def fake_openai():
    fake = FakeOpenAI()
    with fake.server:
        yield fake


def spans(phoenix: str, project: str) -> "list[dict]":
    status, body = http("GET", f"{phoenix}/v1/projects/{project}/spans?limit=100")
    return body["data"] if status == 200 else []


def spans_of(phoenix: str, project: str, n: int) -> "list[dict]":
    return until(lambda: (s := spans(phoenix, project)) and len(s) >= n and s, f"{n} spans in Phoenix project {project}")


def phoenix_cost(phoenix: str, span_node_id: str) -> float:
    """What Phoenix itself prices the span at (its own model price table), through its GraphQL API."""
    query = '{ node(id: "%s") { ... on Span { costSummary { total { cost } } } } }' % span_node_id
    _, body = http("POST", f"{phoenix}/graphql", {"query": query})
    return body["data"]["node"]["costSummary"]["total"]["cost"]


def export_env(endpoint: str, project: str, **extra: str) -> "dict[str, str]":
    return {
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        # Phoenix takes traces only; its project comes from this resource attribute.
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_RESOURCE_ATTRIBUTES": f"openinference.project.name={project}",
        "OTEL_BSP_SCHEDULE_DELAY": "200",
        **extra,
    }


def test_python_and_typescript_calls_appear_in_phoenix_with_model_tokens_cost_and_the_conversation_as_session(
    llm, phoenix, fake_openai, tmp_path, start_sidecar  # noqa: F811
):
    project = f"vigilo-{uuid.uuid4().hex[:8]}"
    data = tmp_path / "data"
    discovery = start_sidecar(data, export_env(phoenix, project))
    llm.configure(url=None, data_dir=str(data))

    client = llm.wrap(openai_client(fake_openai))
    with llm.track(conversation_id="py-conversation", tags={"team": "nlp"}):
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        list(client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True))
    assert llm.flush(10.0) is True, llm.stats()

    env = {**os.environ, "VIGILO_CLIENT": str(ROOT / "dist" / "client" / "index.js"), "FAKE_OPENAI": fake_openai.base_url, "CONVERSATION": "ts-conversation"}
    subprocess.run(["node", "-e", TS_CALLS], cwd=ROOT, env=env, check=True, timeout=60)

    got = spans_of(phoenix, project, 3)
    assert len(got) == 3
    stored = {c["id"]: c for c in sidecar(discovery, "GET", "/llm/calls?limit=10")["calls"]}
    for span in got:
        a = span["attributes"]
        assert span["span_kind"] == "LLM" and span["name"] == "chat gpt-4o-mini"
        assert a["gen_ai.provider.name"] == "openai" and a["gen_ai.request.model"] == "gpt-4o-mini"
        assert a["gen_ai.response.model"] == fake_openai.model
        # The fake's usage, as the API reports it: 1200 prompt tokens of which 1024 cached, 4 completion.
        assert a["gen_ai.usage.input_tokens"] == 1200 and a["gen_ai.usage.output_tokens"] == 4
        assert a["gen_ai.usage.cache_read.input_tokens"] == 1024
        assert (a["llm.token_count.prompt"], a["llm.token_count.completion"]) == (1200, 4)  # Phoenix's own reading
        call = stored[a["vigilo.call.id"]]
        assert a["gen_ai.usage.cost.amount"] == pytest.approx(call["costUsd"], rel=1e-12)
        assert a["gen_ai.usage.cost.currency"] == "USD"
        # Phoenix prices the span from its own table: the same bill as Vigilo's.
        assert phoenix_cost(phoenix, span["id"]) == pytest.approx(call["costUsd"], rel=1e-6)
        # Content capture is off by default: no message text left the sidecar.
        assert "heliotrope" not in json.dumps(span)
    conversations = sorted(s["attributes"]["gen_ai.conversation.id"] for s in got)
    assert conversations == ["py-conversation", "py-conversation", "ts-conversation"]
    assert {s["attributes"].get("vigilo.tag.team") for s in got} == {"nlp", None}

    # The conversation is Phoenix's session, with its token totals.
    _, body = http("GET", f"{phoenix}/v1/projects/{project}/sessions")
    sessions = {s["session_id"]: s for s in body["data"]}
    assert set(sessions) == {"py-conversation", "ts-conversation"}
    assert sessions["py-conversation"]["token_count_prompt"] == 2400 and len(sessions["py-conversation"]["traces"]) == 2

    # `%vigilo export URL --content on`: from now on the text goes out, and only from now on.
    summary = _export_magic.command([phoenix, "--content", "on"], data)
    assert "message content INCLUDED" in summary
    with llm.track(conversation_id="py-with-content"):
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert llm.flush(10.0) is True
    got = spans_of(phoenix, project, 4)
    with_text = [s for s in got if "heliotrope" in json.dumps(s)]
    assert [s["attributes"]["gen_ai.conversation.id"] for s in with_text] == ["py-with-content"]
    assert "heliotrope" in json.dumps(with_text[0]["attributes"]["gen_ai.input.messages"])


def test_spans_recorded_while_phoenix_is_unreachable_arrive_when_it_returns_up_to_the_bound(phoenix, tmp_path, start_sidecar):  # noqa: F811
    project = f"vigilo-{uuid.uuid4().hex[:8]}"
    relay = TcpRelay(int(phoenix.rsplit(":", 1)[1]))  # down: nothing listens on its port yet
    data = tmp_path / "data"
    discovery = start_sidecar(data, export_env(f"http://127.0.0.1:{relay.port}", project, VIGILO_OTEL_MAX_QUEUE="5", OTEL_BSP_MAX_EXPORT_BATCH_SIZE="2", OTEL_EXPORTER_OTLP_TIMEOUT="2000"))
    try:
        answer = sidecar(discovery, "POST", "/llm/events", {"events": [llm_event(i, "while-down") for i in range(8)]})
        assert answer["accepted"] == 8  # ingest does not wait for the receiver
        status = until(lambda: (s := sidecar(discovery, "GET", "/export"))["queue"]["failedBatches"] >= 1 and s, "an export attempt to fail")
        assert status["queue"]["receiver"] == "down" and "ECONNREFUSED" in status["queue"]["lastError"]
        assert status["queue"]["dropped"] == 3 and status["queue"]["queued"] + status["queue"]["inFlight"] == 5
        assert spans(phoenix, project) == []

        relay.up()
        got = spans_of(phoenix, project, 5)
        # The newest five, the oldest three dropped and counted (the bound), none twice.
        assert sorted(s["attributes"]["vigilo.call.id"] for s in got) == [f"evt-while-down-{i}" for i in range(3, 8)]
        status = until(lambda: (s := sidecar(discovery, "GET", "/export"))["queue"]["sent"] == 5 and s, "the queue to empty")
        assert status["queue"]["receiver"] == "up" and status["queue"]["queued"] == 0
        # GET /metrics/prometheus shows the same (its section is refreshed every second).
        prom = until(lambda: (t := sidecar_text(discovery, "/metrics/prometheus")) and "vigilo_otel_spans_sent_total 5" in t and t, "the sent count in /metrics/prometheus: " + sidecar_text(discovery, "/metrics/prometheus")[-600:])
        assert "vigilo_otel_spans_dropped_total 3" in prom and "vigilo_otel_spans_queued 0" in prom
    finally:
        relay.down()


def sidecar_text(discovery: dict, path: str) -> str:
    status, body = http("GET", discovery["url"].rstrip("/") + path, headers={"Authorization": f"Bearer {discovery['token']}"})
    assert status == 200
    return body
