"""Finding papers: ranked full-text search with safe user text (``fulltext``), hybrid retrieval fusing it
with chunk embeddings (``retrieval``, ``fusion``), the texts a paper is embedded as (``chunking``), the
embedders (``embedders``, ``embedder_e5``) and their CPU threads (``cpu``), and how well each hit matches
in readable terms (``view``)."""
