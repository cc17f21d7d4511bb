"""Local OpenAI-compatible stand-ins for the two LLM backends (the serverless API and the GPU host).

They exist because neither real backend can run here: tests, the local demo and the benchmarks
start one with `standin_server(...)` (in a thread) or `standin_process(...)` (a subprocess) on
127.0.0.1 and point the gateway at the yielded base URL. Behaviour is scripted with `Script`.
"""

from .app import Script, StandinApp, count_tokens, prompt_tokens
from .serving import asgi_server, standin_process, standin_server

__all__ = ["Script", "StandinApp", "asgi_server", "count_tokens", "prompt_tokens", "standin_process",
           "standin_server"]
