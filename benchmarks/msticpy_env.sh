#!/bin/sh
# Create the isolated virtualenv that benchmarks/sessions.py uses to run msticpy 3.0.2
# (msticpy pins pandas < 3, so it cannot live in the project's .venv).
# Usage: sh benchmarks/msticpy_env.sh   (from the repository root)
set -eu
VENV=.bench-venvs/msticpy
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet "msticpy==3.0.2" pyarrow
"$VENV/bin/python" -c "import msticpy, pandas; print('msticpy', msticpy.__version__, 'pandas', pandas.__version__)"
