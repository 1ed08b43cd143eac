"""For the whole suite: the helpers of tests/support fail with pytest's detailed assertions."""

import pytest

pytest.register_assert_rewrite("tests.support")
