"""Stand-in for the pip bootstrap script ansible-test downloads (a host this network does not reach).

ansible-test runs it in a fresh virtualenv without pip, with pip-install arguments such as
``--disable-pip-version-check pip==24.2 --no-setuptools --no-wheel``. We put Python's bundled pip in place
with ensurepip, then let that pip install what was asked for from the package index. ensurepip points
PIP_CONFIG_FILE at /dev/null in this process; the install runs with the environment as it was before, so
the machine's pip configuration (certificates, indexes) applies.
"""

import ensurepip
import os
import subprocess
import sys

env = dict(os.environ)
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
ensurepip.bootstrap()
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", *args], env=env))
