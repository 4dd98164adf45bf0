"""The Discord side of the digest: ``posting`` sends and re-renders paper posts and DMs (the
``DigestSender`` for ``bot.services.digest.run``), ``runner`` runs digests from the bot (locks per day,
source refresh, recap, retries). The commands and schedule are in ``bot.cogs.digest``."""
