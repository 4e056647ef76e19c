"""The gateway's matching engine: plain Python, no Django, no I/O.

A request (`Request`) goes in; an `Outcome` comes out: what to answer (redirect,
proxy, respond) and what to record (captures). Rules are parsed from the
Scarf-manifest form (`manifest.py`), sorted and merged per domain
(`compile.py`), and then only ever read.
"""
