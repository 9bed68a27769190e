#!/usr/bin/env bash
# The firmware's end-to-end cases in QEMU: harness.py runs them (the cases are
# data there; `python3 harness.py --list` names them). Arguments are passed on.
exec python3 "$(dirname "${BASH_SOURCE[0]}")/harness.py" "$@"
