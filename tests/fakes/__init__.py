"""Loopback fakes for the LLM wrapper tests: providers speaking their real wire formats, and a sidecar."""
