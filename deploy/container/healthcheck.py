"""The image's HEALTHCHECK: 200 from the URL the entrypoint wrote for an HTTP command
(serve: /ready, server: /health), or KNOT_HEALTH_URL; a command without a port is
healthy while it runs (the runtime sees it end)."""

import os
import sys
import urllib.request
from pathlib import Path

home = Path(os.environ.get("KNOT_HOME", "/var/lib/knot"))
url = os.environ.get("KNOT_HEALTH_URL", "")
if not url and (home / ".health-url").is_file():
    url = (home / ".health-url").read_text().strip()
if not url:
    sys.exit(0)
try:
    with urllib.request.urlopen(url, timeout=3) as answer:
        sys.exit(0 if answer.status == 200 else 1)
except OSError as exc:
    print(f"unhealthy: {url}: {exc}", file=sys.stderr)
    sys.exit(1)
