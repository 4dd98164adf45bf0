"""What members choose and do: tag subscriptions and mutes, paused DMs, saved papers (``members``), and
reactions on the bot's posts as a signal (``reactions``)."""
