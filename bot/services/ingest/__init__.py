"""Getting curator notes into the store: parse files, resolve each entry to one paper, write each batch
atomically (``pipeline``, ``write``, ``draft``), credit tags, entries and commentary to the files that give
them (``sources``, ``commentary``), moderators' uploads (``upload``) and their commentary edits (``edits``)."""
