"""The LLM SDKs Vigilo knows, by the module whose presence says one is loaded.

Standard library only and free of imports of ``vigilo.llm``: the kernel's
heartbeat checks ``sys.modules`` against it before deciding to import
``vigilo.llm`` (which instruments the loaded SDKs).
"""

#: SDK name (as in the events' ``sdk.name``) -> the module whose presence says it is loaded
SDK_MODULES = {
    "openai": "openai",
    "anthropic": "anthropic",
    "google-genai": "google.genai",
    "google-generativeai": "google.generativeai",
    "litellm": "litellm",
    "langchain": "langchain_core",
}
