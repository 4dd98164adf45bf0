"""The ui's bot-wide hooks, loaded as the first extension: the command-tree translator and error
handler, the persistent paper buttons, and the reply to components nothing handles any more."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.ui.errors import is_expected, on_tree_error
from bot.ui.i18n import PaperbotTranslator
from bot.ui.views import answer_stale_component, dynamic_items

if TYPE_CHECKING:
    from bot.app import PaperBot


async def setup(bot: PaperBot) -> None:
    await bot.tree.set_translator(PaperbotTranslator())
    bot.tree.on_error = on_tree_error  # type: ignore[method-assign]
    bot.expected_error = is_expected
    bot.add_dynamic_items(*dynamic_items())
    bot.add_listener(answer_stale_component, "on_interaction")
