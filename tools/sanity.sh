#!/usr/bin/env bash
# ansible-test sanity on the collection laid out as ansible_collections/directfanz/launch.
# - The layout lives outside the checkout: inside a git work tree ansible-test lists only tracked files.
# - ansible-test's --venv mode bootstraps pip from a download this network does not reach, so sanity runs
#   --local in a virtualenv of its own (ansible-test installs each test's pinned tools there, leaving .venv's
#   pins alone), with amazon.aws beside our collection for the import test.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
base="${LAUNCH_SANITY_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/directfanz-launch-sanity}"
dest="$base/ansible_collections/directfanz/launch"
venv="$base/venv"
core=$(grep -E '^ansible-core==' "$root/requirements.txt")
if [ ! -x "$venv/bin/ansible-test" ] || ! "$venv/bin/pip" freeze 2>/dev/null | grep -qx "$core"; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "$core" -c "$root/constraints.txt"
fi
# ansible-test bootstraps pip in each test's virtualenv with a script it downloads; give it ours.
pip_version=$(grep -oE "pip='[0-9.]+'" "$("$venv/bin/python" -c 'import ansible_test, os; print(os.path.dirname(ansible_test.__file__))')/_internal/python_requirements.py" | head -1 | grep -oE '[0-9.]+')
mkdir -p "$HOME/.ansible/test/cache"
cp "$root/tools/get_pip_standin.py" "$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
mkdir -p "$dest" "$base/ansible_collections/amazon"
site=$("$root/.venv/bin/python" -c 'import ansible_collections.amazon.aws as m; print(list(m.__path__)[0])')
ln -sfn "$site" "$base/ansible_collections/amazon/aws"
rm -rf "$dest" && mkdir -p "$dest"
tar -C "$root" --exclude=./.git --exclude=./.venv --exclude=./.cache --exclude=./.sandbox --exclude=./.ansible \
  --exclude=./tests/output --exclude=__pycache__ --exclude=.pytest_cache --exclude=.ruff_cache \
  --exclude=./.hypothesis --exclude=./.schemathesis --exclude=./reports -cf - . \
  | tar -C "$dest" -xf -
cd "$dest"
exec "$venv/bin/ansible-test" sanity --local --requirements --python 3.11 "$@"
