"""Builds test/eval/working.json (the working conversations) from public sources.

Run once with git clones of the sources (the output is committed; tests never run this):
    python3 test/eval/build_working.py <SWE-agent clone> <autogen clone>
Message text is copied verbatim (ANSI colour codes removed); roles are mapped as written below.
The probes are written by hand against each source and say so: each probe's needle must occur in
the conversation (test/eval/working.spec.ts checks it), so it is a fact of the source, not an answer we made up.
"""
import json
import re
import subprocess
import sys

SWE_COMMIT = "3ea751c087f32b16e039a2233dd6eefecef325d5"
SWE_PATH = "tests/test_data/trajectories/gpt4__swe-bench-dev-easy_first_only__default__t-0.00__p-0.95__c-3.00__install-1/pydicom__pydicom-1458.traj"
AG_COMMIT = "2578e4a0fac866748781c8e010dde7da4a5f1db5"
AG_PATH = "notebook/agentchat_auto_feedback_from_code_execution.ipynb"


def show(repo, commit, path):
    return subprocess.run(["git", f"--git-dir={repo}", "show", f"{commit}:{path}"], check=True, capture_output=True, text=True).stdout


def swe_agent(repo):
    traj = json.loads(show(repo, SWE_COMMIT, SWE_PATH))
    history = traj["history"]
    messages = []
    # history[0] is the agent's system prompt, history[1] a canned demonstration of another task: both left out.
    for i, m in enumerate(history[2:]):
        role = m["role"]
        if role == "user" and i > 0:
            role = "tool"  # SWE-agent sends the environment's observations as user messages
        messages.append({"role": role, "content": m["content"]})
    return messages


ANSI = re.compile(r"\x1b\[[0-9;]*m")
TURN = re.compile(r"^(user_proxy|assistant) \(to (?:user_proxy|assistant)\):\n", re.M)


def autogen_cells(repo, cells):
    nb = json.loads(show(repo, AG_COMMIT, AG_PATH))
    messages = []
    for index in cells:
        text = "".join("".join(o.get("text", [])) for o in nb["cells"][index].get("outputs", []))
        text = ANSI.sub("", text)
        parts = TURN.split(text)
        for speaker, body in zip(parts[1::2], parts[2::2]):
            body = re.sub(r"\n-{20,}\n?", "\n", body).strip()
            if not body:
                continue
            role = "assistant" if speaker == "assistant" else ("tool" if body.startswith("exitcode:") else "user")
            messages.append({"role": role, "content": body})
    return messages


def main(swe_repo, ag_repo):
    swe = {"repository": "https://github.com/SWE-agent/SWE-agent", "path": SWE_PATH, "commit": SWE_COMMIT, "license": "MIT"}
    ag = {"repository": "https://github.com/microsoft/autogen", "path": AG_PATH, "commit": AG_COMMIT, "license": "MIT (LICENSE-CODE)"}
    conversations = [
        {
            "id": "coding-pydicom-1458",
            "kind": "coding",
            "source": {**swe, "note": "SWE-agent (GPT-4) fixing pydicom issue 1458; the system prompt and the canned demonstration are left out."},
            "messages": swe_agent(swe_repo),
            "probes": [
                {"kind": "recall", "question": "Which attribute should be optional?", "needle": "PixelRepresentation"},
                {"kind": "recall", "question": "What kind of pixel data triggers the bug?", "needle": "Float Pixel Data"},
                {"kind": "artifact", "question": "Which file holds the handler that was changed?", "needle": "numpy_handler.py"},
                {"kind": "artifact", "question": "Which script reproduces the bug?", "needle": "reproduce_bug.py"},
                {"kind": "continuation", "question": "What is left to do?", "needle": "submit"},
                {"kind": "decision", "question": "What was the fix?", "needle": "only if 'PixelData' is present"},
            ],
        },
        {
            "id": "analysis-meta-tesla-ytd",
            "kind": "analysis",
            "source": {**ag, "note": "AutoGen AssistantAgent and UserProxyAgent: year-to-date stock gains, then a chart (output of cells 3 and 8)."},
            "messages": autogen_cells(ag_repo, [3, 8]),
            "probes": [
                {"kind": "recall", "question": "Which stocks are compared?", "needle": "TSLA"},
                {"kind": "recall", "question": "Which library fetches the prices?", "needle": "yfinance"},
                {"kind": "artifact", "question": "Where is the data saved?", "needle": "stock_price_ytd.csv"},
                {"kind": "artifact", "question": "Where is the plot saved?", "needle": "stock_price_ytd.png"},
                {"kind": "continuation", "question": "What was asked last?", "needle": "Plot a chart of their stock price change YTD"},
                {"kind": "decision", "question": "Which ticker replaced FB?", "needle": "META"},
            ],
        },
        {
            "id": "writing-blog-post",
            "kind": "writing",
            "source": {**ag, "note": "AutoGen: analyse the saved price data and write a blog post (output of cell 14)."},
            "messages": autogen_cells(ag_repo, [14]),
            "probes": [
                {"kind": "recall", "question": "What is to be written?", "needle": "blog post"},
                {"kind": "recall", "question": "What is the first date of the data?", "needle": "2024-01-02"},
                {"kind": "artifact", "question": "Which tickers are in the data?", "needle": "TESLA"},
                {"kind": "continuation", "question": "What was asked?", "needle": "Analyze the data and write a brief but engaging blog post"},
            ],
        },
    ]
    out = {
        "description": "Working conversations (coding, analysis, writing) from public agent transcripts, with probe questions of four kinds (recall, artifact, continuation, decision). A probe is kept when its needle appears (case-insensitive) in the summary. Probes were written by hand against each cited source; built by test/eval/build_working.py.",
        "conversations": conversations,
    }
    with open("test/eval/working.json", "w") as f:
        json.dump(out, f, indent=1, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
