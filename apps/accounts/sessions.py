"""Ending a person's sessions: those allauth's usersessions lists (where the
person revokes them), and all but the current one when the password
changes or a second factor is added."""

from __future__ import annotations

from allauth.usersessions.models import UserSession


def end_sessions(user, keep: str | None = None) -> int:
    """Sign the user out of every session but `keep` (a session key); returns how many."""
    sessions = UserSession.objects.filter(user_id=user.pk).exclude(session_key=keep or "")
    ended = 0
    for session in sessions:
        session.end()
        ended += 1
    return ended
