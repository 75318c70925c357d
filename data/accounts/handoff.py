"""Hand a session token from the script to the browser as an HttpOnly cookie.

A Streamlit script talks to the browser over a websocket and cannot send ``Set-Cookie``.
After a sign-in the script therefore issues a one-time code for the new token; a few lines
of JavaScript on the page post that code to the app's own ``/api/session`` route
(``serve.py``), whose HTTP answer sets the cookie: HttpOnly (page scripts cannot read it),
``SameSite=Strict``, ``Secure`` behind HTTPS. The code is random, single-use and lives
:data:`CODE_TTL_S` seconds, so the token itself never reaches JavaScript or a URL. On a
reload or in a second tab the websocket request carries the cookie and the script reads it
(``st.context.cookies``); the session itself is validated against the database as before,
so expiry, sign-out and disabling apply to every tab at once.

The codes are held in this process (one server process; several processes behind a load
balancer would need them in the database).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict

#: name of the session cookie
SESSION_COOKIE = "xihu_session"
#: path of the route that turns a one-time code into the cookie (POST, body = the code)
SESSION_ROUTE = "/api/session"
#: path of the route that clears the cookie (POST)
SIGNOUT_ROUTE = "/api/signout"
#: the cookie's lifetime: the absolute session maximum of ``AuthStore`` (12 h); the database
#: decides whether the session is still valid (30 minutes idle), the cookie only carries it
COOKIE_MAX_AGE_S = 12 * 3600
#: seconds a one-time code may be redeemed
CODE_TTL_S = 60.0
#: at most this many unredeemed codes are kept (the oldest go first)
MAX_CODES = 1024
#: longest code accepted by :meth:`HandoffCodes.redeem`
MAX_CODE_CHARS = 64


class HandoffCodes:
    """One-time codes standing for session tokens (thread-safe, bounded, expiring)."""

    def __init__(self, *, ttl_s: float = CODE_TTL_S, max_codes: int = MAX_CODES) -> None:
        self.ttl_s = ttl_s
        self.max_codes = max_codes
        self._codes: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._lock = threading.Lock()

    def issue(self, token: str, *, now: float | None = None) -> str:
        """A fresh code that :meth:`redeem` turns into ``token`` once, within ``ttl_s`` seconds."""
        t = time.monotonic() if now is None else now
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._purge(t)
            self._codes[code] = (token, t + self.ttl_s)
            while len(self._codes) > self.max_codes:
                self._codes.popitem(last=False)
        return code

    def redeem(self, code: str, *, now: float | None = None) -> str | None:
        """The token of ``code`` (and the code is gone), or None when unknown, used or expired."""
        if not isinstance(code, str) or not code or len(code) > MAX_CODE_CHARS:
            return None
        t = time.monotonic() if now is None else now
        with self._lock:
            self._purge(t)
            entry = self._codes.pop(code, None)
        if entry is None or entry[1] <= t:
            return None
        return entry[0]

    def _purge(self, t: float) -> None:
        for code in [c for c, (_, until) in self._codes.items() if until <= t]:
            del self._codes[code]


#: the codes of this server process (shared by the script threads and the HTTP routes)
HANDOFF = HandoffCodes()
