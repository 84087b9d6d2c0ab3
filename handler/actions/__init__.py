"""What a person can do from chat: slash commands, button clicks and thread replies, each run as
that person (never as the bot), after the request was verified (``handler/inbound/``).

Rooms inside:

* ``context.py``: :class:`Actor`, :class:`Reply` and :class:`ActionContext`, the small interface
  every action takes, so an action can be tested with a stand-in context and no Slack at all;
* one module per family of actions (review actions, reminders, pipelines), each a table of small
  functions registered by sub-command or action id.

Actions import downward only (state, enrich, render, deliver, sources, the review rules); they never
import a Lambda entry (``handler.app``, ``handler.chat``, ``handler.gitlab``) or ``handler.pipelines``.
"""
