"""The Claude backend: phase agents as sandboxed, tool-using Claude conversations.

backend.py runs a phase (steps, concurrent agents, the merged ADR); agent.py one conversation;
api.py the Messages API with bounded retries; tools.py and sandbox.py what an agent can reach;
report.py the final report's schema; prompts.py what agents are told; pricing.py and limits.py
what they may spend; settings.py the knobs. backend.py needs the anthropic SDK and pydantic
(`pip install 'ml-phases[claude]'`), so it is imported only when the backend is used.
"""
