"""The daily digest, without Discord: plan which papers go to which channels (``plan``, ``routes``),
post each exactly once through the outbox (``run``, ``outbox``, ``report``), then one DM per subscriber
(``dms``); when runs are due (``schedule``) and the weekly recap (``recap``).
The Discord side (the sender, the run loop, re-rendering posts) is ``bot.ui.digest``."""
