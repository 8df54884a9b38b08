"""`python -m kubectl_ray` runs the plugin."""

import sys

if sys.version_info < (3, 10):  # noqa: UP036 - checked before anything else is imported
    sys.stderr.write("error: kubectl-ray needs Python 3.10 or newer (found %d.%d)\n" % sys.version_info[:2])
    sys.exit(1)

from kubectl_ray.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
