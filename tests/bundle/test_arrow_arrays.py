"""Arrays built from buffers equal what ``pa.array`` builds, and never import pandas."""

import subprocess
import sys

import numpy as np
import pyarrow as pa
import pytest

from ocomms_pipeline.bundle.arrow_arrays import integers, numbers, strings


@pytest.mark.parametrize(
    "values",
    [[], ["a"], ["a", None, "héllo ✓", ""], [None, None], ["x" * 70_000, "y"]],
)
def test_strings_equal_pyarrows_own_conversion(values):
    built = strings(values)
    built.validate(full=True)
    assert built.equals(pa.array(values, pa.string()))


@pytest.mark.parametrize("dtype", [np.int16, np.int32, np.int64, np.uint8])
def test_integers_round_trip_through_numbers(dtype):
    values = np.array([5, 0, 3, 7, 1], dtype=dtype)
    built = integers(values)
    built.validate(full=True)
    assert built.equals(pa.array(values))
    assert numbers(built.slice(1, 3)).tolist() == [0, 3, 7]


def test_numbers_refuses_what_it_cannot_view():
    with pytest.raises(TypeError):
        numbers(pa.array([1, None]))
    with pytest.raises(TypeError):
        integers(np.array([1.5]))


def test_the_export_path_builds_arrays_without_importing_pandas():
    script = (
        "import sys\n"
        "from ocomms_pipeline.checks.row_scan import SecretValues\n"
        "from ocomms_pipeline.bundle.arrow_arrays import integers, numbers, strings\n"
        "import numpy as np\n"
        "SecretValues.of([('invitations.token', 'a-long-secret-token')]).lengths\n"
        "numbers(integers(np.arange(4, dtype=np.int16)))\n"
        "strings(['a', None])\n"
        "print('pandas' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
