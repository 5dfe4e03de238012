#!/usr/bin/env bash
# `make docs` (and, with --check, the docs layer of `make test`): the filters' documentation files written from their
# code (tools/filter_docs.py; --check only says which are out of date), every plugin's and role's documentation
# linted with antsibull-docs (markup, references to other plugins, the RST each would render to), then the whole
# collection rendered as RST into .cache/docs/ (one page per module, filter, callback and role).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bin=$root/.venv/bin
site=$("$bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
if [ "${1:-}" = "--check" ]; then
  "$bin/python" -m tools.filter_docs --check
else
  "$bin/python" -m tools.filter_docs
fi
export PATH="$bin:$PATH"
# the checkout's collection link first, then amazon.aws / community.aws as the venv installed them; outside the
# checkout, so its ansible.cfg does not add other collection paths
export ANSIBLE_COLLECTIONS_PATH="$root/.cache/collections:$site"
(cd /tmp && "$bin/antsibull-docs" lint-collection-docs --plugin-docs --validate-collection-refs all "$root")
rm -rf "$root/.cache/docs" && mkdir -p "$root/.cache/docs"
(cd /tmp && "$bin/antsibull-docs" collection --use-current --squash-hierarchy --dest-dir "$root/.cache/docs" \
  directfanz.launch)
echo "docs: linted; $(ls "$root/.cache/docs" | wc -l) pages in .cache/docs/"
