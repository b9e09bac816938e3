"""pytest plugin loaded before Django settings (see addopts in pyproject.toml).

The settings refuse to start without SECRET_KEY while DEBUG is off, which is what tests run
with; give the test process a throwaway key unless the environment already sets one.
"""

from __future__ import annotations

import os

os.environ.setdefault("SECRET_KEY", "test-only-not-a-secret-hongqi")
