"""Discovery: the papers related to a paper, the curator's own links first and then papers close in
content (``related``, ``links``, ``vectors``); /foryou recommendations from what a member saved, reacted
to and follows (``foryou``), and the opt-in weekly DM of them (``foryou_dm``)."""
