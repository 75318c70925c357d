"""The process that runs a publication's suppression for :class:`geo.disclosure.SuppressionWorker`.

    python -m geo.disclosure_worker RESULT_FILE   < pickled arguments

Reads the pickled arguments of :func:`geo.disclosure._suppress_publication` from stdin,
writes ``("ok", result)`` or ``("error", exception)`` pickled to ``RESULT_FILE``. Only
the parent that started it writes to its stdin (a pipe); nothing else is read.
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    out = Path(argv[0])
    from geo import highs
    from geo.disclosure import _suppress_publication

    highs.quiet_banner()  # nothing on stdout
    args = pickle.load(sys.stdin.buffer)
    try:
        payload: tuple[str, object] = ("ok", _suppress_publication(*args))
    except Exception as exc:  # the parent raises it
        payload = ("error", exc)
    tmp = out.with_name(out.name + ".part")
    with open(tmp, "wb") as fh:
        pickle.dump(payload, fh, protocol=pickle.HIGHEST_PROTOCOL)
    tmp.replace(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
