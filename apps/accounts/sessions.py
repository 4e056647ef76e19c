"""Ending a person's sessions (allauth's usersessions lists them): all but the
current one when a second factor is added. A new password needs nothing
here: Django's sessions carry a hash of it, so every other session of the
user is signed out by the change itself (and drops off the list)."""

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
