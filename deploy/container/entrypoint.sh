#!/bin/sh
# `knot ARGS`, with the HTTP commands listening on all interfaces (a container's
# loopback is its own) and the URL the health check should ask written down for it.
set -eu
health_file="${KNOT_HOME:-/var/lib/knot}/.health-url"
port=""
previous=""
for arg in "$@"; do
  case "$arg" in
    --port=*) port="${arg#--port=}" ;;
    *) [ "$previous" = "--port" ] && port="$arg" ;;
  esac
  previous="$arg"
done
case "${1:-}" in
  serve)
    echo "http://127.0.0.1:${port:-8080}/ready" > "$health_file" 2>/dev/null || true
    shift
    exec knot serve --host "${KNOT_LISTEN_HOST:-0.0.0.0}" "$@"
    ;;
  server)
    echo "http://127.0.0.1:${port:-8765}/health" > "$health_file" 2>/dev/null || true
    shift
    exec knot server --host "${KNOT_LISTEN_HOST:-0.0.0.0}" "$@"
    ;;
  *)
    rm -f "$health_file" 2>/dev/null || true
    exec knot "$@"
    ;;
esac
