"""Grounded answers: retrieve passages and ask the model, streamed, with citations (``answerer``,
``grounded``); quote the notes when there is no model (``extractive``); turn model output into a safe
answer (``text``, ``types``); the OpenAI-compatible client (``llm``) and the prompt templates (``prompts``)."""
