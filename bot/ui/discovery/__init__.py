"""The Discord side of discovery: embeds for related papers and recommendations (``render``), the
persistent Related button and the reply it shares with /related (``related_button``), and the weekly
DM's sender (``foryou_dm``). The commands and the weekly job are in ``bot.cogs.discovery``."""
