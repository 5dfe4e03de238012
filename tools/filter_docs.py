"""Write (or check) the documentation file of every filter plugin: ``plugins/filter/<name>.yml``, what ansible-doc and
antsibull-docs read for a filter.

Each file is made from the filter itself - its Python signature (the input and the positional arguments, with their
defaults), its docstring (the short description is the first sentence, the description the whole text) - and the
first place the collection's own roles and playbooks use it (the example). So the documentation says what the code
does and cannot drift from it: `make docs` rewrites the files, and tests/unit/test_filter_docs.py fails when a
committed file is not what this tool would write.

    python -m tools.filter_docs          # write the files
    python -m tools.filter_docs --check  # exit 1 naming each file that is missing or out of date
"""

from __future__ import annotations

import importlib
import inspect
import json
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
FILTERS = ROOT / "plugins" / "filter"
AUTHOR = "DirectFanz platform team (@directfanz)"
USED_IN = ("roles", "playbooks", "site.yml")


def filters() -> list[tuple[str, str, object]]:
    """(plugin file stem, filter name, function) of every filter the collection's FilterModules expose."""
    sys.path.insert(0, str(ROOT / ".cache" / "collections"))
    out = []
    for path in sorted(FILTERS.glob("*.py")):
        module = importlib.import_module("ansible_collections.directfanz.launch.plugins.filter." + path.stem)
        for name, fn in sorted(module.FilterModule().filters().items()):
            out.append((path.stem, name, fn))
    return out


def paragraphs(doc: str) -> list[str]:
    """The docstring's paragraphs, each on one line, its ``literals`` in Ansible's C() markup."""
    text = inspect.cleandoc(doc or "")
    return [re.sub(r"``(.+?)``", r"C(\1)", " ".join(p.split())) for p in re.split(r"\n\s*\n", text) if p.strip()]


class Dumper(yaml.SafeDumper):
    """Multi-line strings (the example) as literal blocks; lists indented under their key (yamllint's rule)."""

    def increase_indent(self, flow=False, indentless=False):
        return super().increase_indent(flow, False)


Dumper.add_representer(str, lambda d, v: d.represent_scalar("tag:yaml.org,2002:str", v, style="|" if "\n" in v else None))


def first_sentence(text: str) -> str:
    """Up to the first full stop (or 160 characters, never inside a C() markup)."""
    m = re.match(r"(.+?\.)(\s|$)", text)
    sentence = (m.group(1) if m else text).rstrip(".")
    if len(sentence) <= 160:
        return sentence
    cut = sentence[:157].rsplit(" ", 1)[0]
    if cut.count("C(") > cut.count(")"):
        cut = cut[:cut.rindex("C(")].rstrip()
    return cut + "..."


def example(name: str) -> str:
    """The first line of the collection's own roles and playbooks that uses the filter, with its file."""
    pattern = re.compile(r"directfanz\.launch\.%s\b" % re.escape(name))
    for top in USED_IN:
        base = ROOT / top
        for path in sorted([base] if base.is_file() else base.rglob("*.yml")):
            for line in path.read_text().splitlines():
                if pattern.search(line):
                    return "# %s\n%s\n" % (path.relative_to(ROOT), line.strip())
    return "# used from Python: plugins/filter/*.py (no role calls it directly)\n"


def plain(value):
    """A default as YAML can hold it (tuples become lists), or None when it is not plain data."""
    try:
        return json.loads(json.dumps(value))
    except TypeError:
        return None


def written(stem: str, name: str):
    """A DOCUMENTATION the plugin file holds for this filter by hand (it wins over the one made from the code)."""
    module = sys.modules["ansible_collections.directfanz.launch.plugins.filter." + stem]
    doc = yaml.safe_load(getattr(module, "DOCUMENTATION", "") or "null")
    return dict(doc, author=doc.get("author", AUTHOR)) if isinstance(doc, dict) and doc.get("name") == name else None


def document(stem: str, name: str, fn) -> dict:
    text = paragraphs(fn.__doc__) or (written(stem, name) or {}).get("description")
    if not text:
        raise SystemExit("filter %s (plugins/filter/%s.py) has no docstring: say what it does there" % (name, stem))
    params = list(inspect.signature(fn).parameters.values())
    first, rest = params[0], [p for p in params[1:] if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    options = {"_input": {"description": "C(%s): the value before the filter's pipe (see the description)."
                                         % first.name, "type": "raw", "required": True}}
    for p in rest:
        entry = {"description": "C(%s) (see the description)." % p.name, "type": "raw"}
        if p.default is inspect.Parameter.empty:
            entry["required"] = True
        elif plain(p.default) is not None:
            entry["default"] = plain(p.default)
        options[p.name] = entry
    doc = {"name": name, "author": AUTHOR, "short_description": first_sentence(text[0]), "description": text,
           "options": options}
    positional = [p.name for p in rest if p.kind == p.POSITIONAL_OR_KEYWORD]
    if positional:
        doc["positional"] = ", ".join(positional)
    doc = written(stem, name) or doc
    return {"DOCUMENTATION": doc, "EXAMPLES": example(name),
            "RETURN": {"_value": {"description": "What the description says %s gives." % name, "type": "raw"}}}


def render(stem: str, name: str, fn) -> str:
    header = "# Written by tools/filter_docs.py from %s in plugins/filter/%s.py - edit the code, then `make docs`.\n" % (
        name, stem)
    body = yaml.dump(document(stem, name, fn), Dumper=Dumper, sort_keys=False, width=120, allow_unicode=True)
    return header + body


def main(argv: list[str]) -> int:
    check = "--check" in argv
    wanted = {}
    for stem, name, fn in filters():
        wanted[FILTERS / ("%s.yml" % name)] = render(stem, name, fn)
    stale = [p for p, text in wanted.items() if not p.exists() or p.read_text() != text]
    orphans = [p for p in FILTERS.glob("*.yml") if p not in wanted]
    if check:
        for p in stale:
            print("out of date or missing: %s (run make docs)" % p.relative_to(ROOT))
        for p in orphans:
            print("no such filter: %s" % p.relative_to(ROOT))
        return 1 if stale or orphans else 0
    for p in stale:
        p.write_text(wanted[p])
    for p in orphans:
        p.unlink()
    print("filter docs: %d written, %d removed, %d in all" % (len(stale), len(orphans), len(wanted)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
