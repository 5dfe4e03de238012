# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The owner's ``.env.production.secrets``: refused unless ansible-vault encrypted, decrypted in memory with the
play's vault secrets, parsed with python-dotenv, validated against the declared schema - and only then written by
``secrets_manager``, which this action runs with the values as no_log arguments.

Why one action and not "read, register, write": a registered result is printed at -v and kept in hostvars, so
handing values from one task to the next puts them where a -vvv log, a debug task or a callback can reach them.
Here the values exist only inside this action and the module process it starts; what comes back is key names,
ARNs and version ids. The result is also scrubbed against every value before it is returned (a second lock).

Why the scan is ours: python-dotenv's ``dotenv_values`` keeps the last of duplicate keys and drops a malformed
line with a log warning. ``parse_stream`` - the same parser - yields each statement with its error flag and its
original text and line, which is what a message that names the key and the line (never the value) needs.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib
import io
import os
import re

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.parsing.vault import is_encrypted
from ansible.plugins.action import ActionBase

try:
    import yaml
except ImportError:  # pragma: no cover - ansible-core requires PyYAML
    yaml = None

try:
    from dotenv import dotenv_values
    from dotenv.parser import parse_stream
except ImportError:
    dotenv_values = parse_stream = None

KEY = re.compile(r"^[A-Z][A-Z0-9_]*$")
KEY_AT_START = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=")
VAULT_HEADER = b"$ANSIBLE_VAULT;"
OWN_ARGS = ("src", "schema_file", "schema_extra", "environment", "name_prefix", "kms_key_id", "tags", "composed",
            "unknown_keys", "description_prefix")
SCHEMA_FIELDS = ("key", "required", "description", "min_length", "max_length", "pattern", "patterns", "format",
                 "formats", "multiline", "forbidden", "composed", "requires", "services")
MASK = "********"


# ---------------------------------------------------------------------------------------------------------------
# Schema


def load_schema(entries, extra=None):
    """key -> entry, and the problems of the schema itself (a bad schema must not pass a bad file)."""
    schema, problems = {}, []
    for index, entry in enumerate(list(entries or []) + list(extra or [])):
        if not isinstance(entry, dict) or not entry.get("key"):
            problems.append("schema entry %d has no key" % index)
            continue
        key = entry["key"]
        unknown = sorted(set(entry) - set(SCHEMA_FIELDS))
        if unknown:
            problems.append("schema entry %s has unknown fields %s; accepted: %s" % (key, ", ".join(unknown),
                                                                                     ", ".join(SCHEMA_FIELDS)))
        if not KEY.match(str(key)):
            problems.append("schema entry %r is not an environment variable name; accepted: A-Z, 0-9 and _" % key)
        patterns = [entry.get("pattern")] + list((entry.get("patterns") or {}).values())
        for pattern in [p for p in patterns if p]:
            try:
                re.compile(pattern)
            except re.error as e:
                problems.append("schema entry %s: pattern %r does not compile (%s)" % (key, pattern, e))
        for field in ("min_length", "max_length"):
            if entry.get(field) is not None and (not isinstance(entry[field], int) or entry[field] < 0):
                problems.append("schema entry %s: %s must be a whole number" % (key, field))
        schema[key] = dict(entry)  # a later entry (schema_extra) replaces an earlier one of the same key
    return schema, problems


def pattern_for(entry, environment):
    """The regular expression a value must match in ``environment`` and the words that say what it is."""
    patterns = entry.get("patterns") or {}
    formats = entry.get("formats") or {}
    if environment in patterns:
        return patterns[environment], formats.get(environment) or entry.get("format")
    return entry.get("pattern"), entry.get("format")


# ---------------------------------------------------------------------------------------------------------------
# The file


def statement_line(original):
    """The line a statement's key is on: dotenv's mark starts before the blank lines and indentation it skips."""
    text = original.string
    skipped = text[:len(text) - len(text.lstrip())]
    return original.line + len(re.findall(r"\r\n|\n|\r", skipped))


def statement_span(original):
    """(first, last) line of a statement's own text."""
    first = statement_line(original)
    body = original.string.strip()
    return first, first + len(re.findall(r"\r\n|\n|\r", body))


def scan(text, schema, environment, unknown_keys="fail"):
    """Reads the dotenv text with python-dotenv's parser and checks it against ``schema``. Returns (values,
    problems, warnings, lines): values key -> string (empty when there are problems), messages that name keys and
    line numbers but never a value, and key -> line."""
    problems, warnings, lines, seen, bound, broken = [], [], {}, {}, {}, set()
    for binding in parse_stream(io.StringIO(text)):
        first, last = statement_span(binding.original)
        where = "line %d" % first if first == last else "lines %d-%d" % (first, last)
        if binding.error:
            named = KEY_AT_START.match(binding.original.string)
            quoted = named and binding.original.string[named.end():].lstrip()[:1] in ("'", '"')
            problems.append("%s%s: not KEY=value%s (the text is not shown: it may hold a secret)" % (
                where, " (%s)" % named.group(1) if named else "",
                "; a quote opened here is probably not closed, which swallows the lines after it" if first != last
                else "; a quote opened here is not closed" if quoted else ""))
            continue
        key = binding.key
        if key is None:
            continue  # a comment or blank lines
        if binding.value is None:
            problems.append("line %d: %s has no '=' (accepted: KEY=value)" % (first, key))
            continue
        if not KEY.match(key):
            problems.append("line %d: %r is not an environment variable name; accepted: A-Z, 0-9 and _, starting with a "
                            "letter" % (first, key))
            continue
        if key in seen:
            problems.append("line %d: %s is set again (first on line %d); accepted: each key once" % (first, key, seen[key]))
            continue
        seen[key] = first
        lines[key] = first
        bound[key] = binding.value
        entry = schema.get(key)
        if entry is not None and ("\n" in binding.value or "\r" in binding.value) and not entry.get("multiline"):
            problems.append("%s: %s spans several lines; accepted: one line (only keys declared multiline may span "
                            "lines; a quote may not be closed)" % (where, key))
            broken.add(key)  # its value checks would only repeat the problem
    # the well-formed statements are checked too, so one run lists every problem of the file
    value_problems, warnings = check_values(bound, lines, schema, environment, unknown_keys, skip=broken)
    problems += value_problems
    if problems:
        return {}, problems, warnings, lines
    values = dict(dotenv_values(stream=io.StringIO(text), interpolate=False))
    if values != bound:  # the scan and dotenv's own reading must agree on what the file holds
        differ = sorted(k for k in set(values) | set(bound) if values.get(k) != bound.get(k))
        return {}, ["the file's keys could not be read consistently (%s); accepted: plain KEY=value lines"
                    % ", ".join(differ)], warnings, lines
    return values, problems, warnings, lines


def check_values(values, lines, schema, environment, unknown_keys="fail", skip=()):
    problems, warnings = [], []
    for key in sorted(values, key=lambda k: lines.get(k, 0)):
        if key in skip:
            continue
        value = values[key]
        at = "%s (line %d)" % (key, lines.get(key, 0))
        entry = schema.get(key)
        if entry is None:
            close = difflib.get_close_matches(key, list(schema), n=1)
            text = "%s is not in the schema%s" % (at, "; did you mean %s?" % close[0] if close else "")
            if unknown_keys == "fail":
                problems.append(text + " (accepted: the schema's keys, or add the key to app_secrets_schema_extra)")
            else:
                warnings.append(text + "; it is not written")
            continue
        if entry.get("forbidden"):
            problems.append("%s must not be in the file: %s" % (at, entry["forbidden"]))
            continue
        if entry.get("composed"):
            problems.append("%s is composed by the launch (%s); accepted: remove it from the file" % (at, entry["composed"]))
            continue
        if value is None or value == "":
            problems.append("%s is empty; accepted: %s" % (at, entry.get("description") or "a value"))
            continue
        if value != value.strip() and not (entry.get("multiline") and value.strip() + "\n" == value):
            problems.append("%s has leading or trailing white space; accepted: the value without it" % at)
            continue
        if entry.get("min_length") and len(value) < entry["min_length"]:
            problems.append("%s is %d characters long; accepted: at least %d" % (at, len(value), entry["min_length"]))
        if entry.get("max_length") and len(value) > entry["max_length"]:
            problems.append("%s is %d characters long; accepted: at most %d" % (at, len(value), entry["max_length"]))
        pattern, words = pattern_for(entry, environment)
        if pattern and not re.fullmatch(pattern, value, re.DOTALL):
            problems.append("%s does not have the format accepted in %s: %s" % (at, environment, words or pattern))
    for key, entry in sorted(schema.items()):
        if entry.get("forbidden") or entry.get("composed"):
            continue
        present = values.get(key) not in (None, "")
        if entry.get("required") and not present and key not in values:
            problems.append("%s is required and missing (%s)" % (key, entry.get("description") or "see the schema"))
        if present:
            for other in entry.get("requires") or []:
                if values.get(other) in (None, ""):
                    problems.append("%s (line %d) is set but %s is not; accepted: both or neither"
                                    % (key, lines.get(key, 0), other))
    return problems, warnings


def scrub(value, secrets):
    """``value`` with every secret replaced by a mask, at any depth (the result must not carry one)."""
    if isinstance(value, str):
        for secret in secrets:
            if secret and secret in value:
                value = value.replace(secret, MASK)
        return value
    if isinstance(value, list):
        return [scrub(v, secrets) for v in value]
    if isinstance(value, dict):
        return dict((k, scrub(v, secrets)) for k, v in value.items())
    return value


def read_vaulted(loader, path):
    """The decrypted text of ``path``; raises AnsibleError with a message that holds no content."""
    with open(path, "rb") as handle:
        data = handle.read()
    if not data.lstrip().startswith(VAULT_HEADER) or not is_encrypted(data.lstrip()):
        raise AnsibleError("%s is not ansible-vault encrypted (it does not start with %s); the secrets file is refused "
                           "in plain text. Encrypt it: ansible-vault encrypt %s" % (path, to_text(VAULT_HEADER), path))
    vault = getattr(loader, "_vault", None)
    if vault is None:
        raise AnsibleError("no vault is available to decrypt %s" % path)
    try:
        plain = vault.decrypt(data.lstrip())
    except AnsibleError as e:
        raise AnsibleError("could not decrypt %s with the play's vault secrets (%s); accepted: the file's vault "
                           "password through --vault-password-file, --ask-vault-pass or --vault-id"
                           % (path, to_text(e.message if hasattr(e, "message") else e).split("\n")[0]))
    try:
        return to_text(plain, errors="strict")
    except UnicodeError:
        raise AnsibleError("%s is not UTF-8 text once decrypted; accepted: a UTF-8 dotenv file" % path)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        args = dict(self._task.args)
        own = dict((k, args.pop(k)) for k in OWN_ARGS if k in args)
        try:
            return self._run(result, own, args, task_vars)
        except AnsibleError as e:
            result.update(failed=True, msg=to_text(e.message if hasattr(e, "message") else e))
            return result

    def _run(self, result, own, aws_args, task_vars):
        if parse_stream is None:
            raise AnsibleError("app_secrets_file needs python-dotenv on the controller (pip install python-dotenv; it "
                               "is in requirements.txt)")
        problems = []
        environment = own.get("environment")
        if environment not in ("production", "sandbox", "staging"):
            problems.append("environment %r is not accepted; accepted: production, sandbox, staging" % environment)
        prefix = own.get("name_prefix") or ""
        if not re.match(r"^[A-Za-z0-9/_+=.@-]+/$", prefix):
            problems.append("name_prefix %r is not accepted; accepted: a secret name prefix ending in '/', for example "
                            "directfanz/app/" % prefix)
        unknown_keys = own.get("unknown_keys", "fail")
        if unknown_keys not in ("fail", "warn"):
            problems.append("unknown_keys %r is not accepted; accepted: fail, warn" % unknown_keys)
        if not own.get("src") or not own.get("schema_file"):
            problems.append("src (the secrets file) and schema_file are required")
        if problems:
            raise AnsibleError("app_secrets_file refused its arguments: %s" % "; ".join(problems))

        with open(self._loader.path_dwim(own["schema_file"]), "rb") as handle:
            declared = yaml.safe_load(handle) or {}
        schema, schema_problems = load_schema(declared.get("app_secrets_schema", declared), own.get("schema_extra"))
        if schema_problems:
            raise AnsibleError("the secrets schema %s is not valid: %s" % (own["schema_file"], "; ".join(schema_problems)))

        path = self._loader.path_dwim(own["src"])
        if not os.path.isfile(path):
            raise AnsibleError("the secrets file %s does not exist; accepted: the path of the vault-encrypted dotenv "
                               "file (app_secrets_file)" % path)
        values, problems, warnings, lines = scan(read_vaulted(self._loader, path), schema, environment, unknown_keys)
        # longest first, so a value that contains another is masked whole; very short values would mask unrelated
        # text (the schema's minimum lengths keep real secrets far longer)
        secrets = sorted(set(v for v in values.values() if v and len(v) >= 4), key=len, reverse=True)
        if problems:
            result.update(failed=True, problems=problems, warnings=warnings,
                          msg="%s was refused before any AWS call (nothing was written): %s" % (path, "; ".join(problems)))
            return scrub(result, secrets)

        wanted = [{"name": prefix + key, "value": values[key],
                   "description": "%s%s" % (own.get("description_prefix") or "", schema[key].get("description") or key)}
                  for key in sorted(values, key=lambda k: lines[k]) if key in schema]
        composed, composed_keys = [], {}
        for item in own.get("composed") or []:
            item = dict(item)
            key = item.pop("key", None) or item.get("name", "")[len(prefix):]
            item.pop("services", None)
            composed_keys[item.get("name")] = key
            composed.append(item)
        module_args = dict(aws_args, secrets=wanted + composed, tags=own.get("tags") or {})
        if own.get("kms_key_id"):
            module_args["kms_key_id"] = own["kms_key_id"]
        answer = self._execute_module(module_name="directfanz.launch.secrets_manager", module_args=module_args,
                                      task_vars=task_vars)
        answer.pop("invocation", None)  # the module masks its no_log options there; it is not needed at all
        by_key, services = {}, {}
        for name, item in sorted((answer.get("secrets") or {}).items()):
            key = composed_keys.get(name) or (name[len(prefix):] if name.startswith(prefix) else name)
            by_key[key] = dict(item, name=name)
            for service in (schema.get(key) or {}).get("services") or []:
                services.setdefault(service, []).append({"name": key, "valueFrom": item["value_from"]})
        result.update(answer)
        result.update(secrets=by_key, keys=[k for k in sorted(values, key=lambda k: lines[k]) if k in schema],
                      count=len(wanted), composed=sorted(composed_keys.values()), file=path, services=services,
                      changed_secrets=[n[len(prefix):] if n.startswith(prefix) else n
                                       for n in answer.get("changed_secrets") or []])
        if warnings:
            result["warnings"] = list(result.get("warnings") or []) + warnings
        return scrub(result, secrets)
