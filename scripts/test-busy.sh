#!/usr/bin/env bash
# `npm test` on a busy machine: the same suite while CPU hogs (Debian's stress-ng, six by default: BUSY_HOGS)
# compete with it for the cores, as other work on a shared CI machine does. The hogs die with this script, however
# it ends: stopped on exit, failure or Ctrl-C, and killed by the kernel should the script itself be killed.
set -euo pipefail
cd "$(dirname "$0")/.."

hogs=${BUSY_HOGS:-6}
if ! command -v stress-ng >/dev/null; then
  echo "test:busy needs stress-ng for its CPU hogs: apt-get install -y stress-ng" >&2
  exit 2
fi

# --pdeathsig: the kernel signals stress-ng when this shell dies; stress-ng's own workers die with it.
setpriv --pdeathsig TERM stress-ng --cpu "$hogs" --quiet &
stress_pid=$!
stop_hogs() {
  kill -TERM "$stress_pid" 2>/dev/null || true
  wait "$stress_pid" 2>/dev/null || true
}
trap stop_hogs EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "test:busy: $hogs CPU hogs on $(nproc) cores; npm test $*" >&2
started=$SECONDS
status=0
npm test -- "$@" || status=$?
echo "test:busy: npm test exited $status after $((SECONDS - started)) s beside $hogs CPU hogs" >&2
exit "$status"
