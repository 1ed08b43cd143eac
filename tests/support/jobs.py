"""Jobs as the tests see them: the restful module's own, recorded."""

from __future__ import annotations

from typing import Any

from tests.support import load_sample

# The module's answer to POST /pool {"name": "sample", "pg_num": 8, "size": 1} without ?wait.
MODULE_POST_POOL_NOWAIT: dict[str, Any] = load_sample("POST_pool_nowait.json")
