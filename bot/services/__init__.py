"""The features, without Discord (no module here imports discord): ``ingest``, ``search``, ``answers``,
``digest``, ``community`` and ``ops``; ``clock`` is the one time source they share."""
