"""Task code of the python_versions example: runs in a sealed Python environment, called as report(context, **kwargs)."""
import logging
import platform
import sys

import numpy

log = logging.getLogger(__name__)


def report(context, label, day):
    """Reports which numpy and Python this task imported, and computes something with it."""
    log.info("%s: numpy %s on Python %s for %s", label, numpy.__version__, platform.python_version(), day)
    print(f"run {context['run_id']} try {context['try_number']}, logical date {context['ds']}")
    values = numpy.arange(1, 11, dtype=numpy.int64)
    return {
        "label": label,
        "day": day,
        "numpy": numpy.__version__,
        "python": platform.python_version(),
        "sum": int(values.sum()),
        "prefix": sys.prefix.endswith("venv"),
    }
