"""The Discord side shared by the cogs: embeds, views and buttons, forms, the error handler, run-time
checks, Discord's limits and every user-visible string (``i18n``); ``hooks`` wires them into the bot;
``digest`` is the digest's Discord side."""
