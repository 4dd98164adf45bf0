"""Finding papers: ranked full-text search with safe user text (``fulltext``), hybrid retrieval fusing it
with chunk embeddings (``retrieval``, ``embedders``), and how well each hit matches in readable terms (``view``)."""
