#!/bin/bash
# The docs' reference text (the settings table, the exit statuses) is the program's help: the check
# passes on the tree, and fails on a copy of docs/usage.md with one default changed (its control).
set -u
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-/usr/bin/python3}
COPYSWEEP=${COPYSWEEP:-./copysweep}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$PYTHON" tests/gen_reference.py "$COPYSWEEP" --check || exit 1
sed 's/^| `seed` | N | 1 |/| `seed` | N | 2 |/' docs/usage.md > "$work/usage.md"
if cmp -s docs/usage.md "$work/usage.md"; then
    echo "test_docs: the control changed nothing (no seed row in docs/usage.md?)"
    exit 1
fi
if "$PYTHON" tests/gen_reference.py "$COPYSWEEP" --check "$work/usage.md" > "$work/check.log"; then
    echo "test_docs: a settings table with a wrong default passed the check"
    exit 1
fi
echo "test_docs: the reference matches the program's help; a wrong default fails the check"
