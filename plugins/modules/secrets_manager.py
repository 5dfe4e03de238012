#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: secrets_manager
short_description: A set of Secrets Manager secrets under one KMS key, written only where they differ
version_added: 0.3.0
description:
  - Keeps, in one call and one region, a list of Secrets Manager secrets - each a plain string, a JSON object of
    keys, a value generated once, or a value composed from other secrets (for example a database URL carrying a
    generated password) - encrypted with one KMS key and tagged.
  - Reads every listed secret first (C(DescribeSecret) and C(GetSecretValue)) and compares the values in memory;
    only a value that differs gets a new version (C(PutSecretValue)), only a missing secret is created, only a
    secret whose KMS key or description differs is updated, only missing or different tags are added (tags it
    did not set are never removed). A second run with the same input makes no write call.
  - Values never leave the module - not in the result, the diff or the log. The result names each secret with its
    ARN and its current C(VersionId), so an ECS task definition can reference the version and roll when a value
    changes (RV(secrets.value_from)).
  - Input is checked before any API call (names, empty or oversized values, the KMS key id, tags, templates).
  - Secrets it did not create (no C(managed-by=directfanz.launch) tag) are refused unless O(adopt=true). A listed
    secret that is scheduled for deletion is restored first.
author: DirectFanz platform team (@directfanz)
options:
  secrets:
    description:
      - The secrets. Each has a O(secrets[].name) and exactly one of O(secrets[].value), O(secrets[].json) (alone),
        O(secrets[].generate) (optionally with O(secrets[].json) as fixed keys) or O(secrets[].template).
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description:
          - Secret name, 1-512 of letters, digits and C(/_+=.@-), for example C(directfanz/app/NEXTAUTH_SECRET). It
            must not end in a hyphen and six characters (Secrets Manager would read it as a partial ARN) and must
            not be an ARN.
        type: str
        required: true
      description:
        description: The secret's description (at most 2048 characters).
        type: str
        default: ""
      value:
        description: The secret's value, a non-empty string of at most 65,536 bytes.
        type: str
      json:
        description:
          - The secret's value as a JSON object of keys (compared as parsed JSON, so key order does not matter).
          - >-
            With O(secrets[].generate) and O(secrets[].generate.key), the fixed keys stored beside the generated one
            (for example C({"username": "app"})).
          - Ansible masks no_log option values wherever they appear in the output; JSON values shorter than 8
            characters (such as a user name) are not masked, so they do not blank out parts of secret names.
        type: dict
      generate:
        description:
          - Generate the value once, with Python's C(secrets) module, and keep it on every later run - a secret that
            already has a value is never regenerated (unless O(secrets[].generate.regenerate)).
          - For example the database application role's password or the Redis AUTH token, which other phases read
            from the secret (by ARN) and never see on the controller.
          - The value holds at least one character of each class it may contain (lower case, upper case, digits,
            punctuation unless excluded), as Secrets Manager's GetRandomPassword does.
        type: dict
        suboptions:
          length:
            description: Number of characters, 8-4096.
            type: int
            default: 32
          exclude_characters:
            description:
              - Characters never used. The default leaves out what breaks quoting or URLs in connection strings and
                what RDS and ElastiCache refuse in passwords and AUTH tokens (double quote, quote, backslash, slash,
                at sign, backquote); add C(%) or others for stricter consumers.
            type: str
            default: "\"'\\/@`"
          exclude_punctuation:
            description: Letters and digits only.
            type: bool
            default: false
          key:
            description:
              - Store the generated value under this key of a JSON object (with the O(secrets[].json) keys beside it)
                instead of as the whole string. An existing object that has the key keeps its value.
            type: str
          regenerate:
            description:
              - Make a new value on this run even though one exists (a rotation). Pass it for one run only, for
                example C(-e), or every run rotates.
            type: bool
            default: false
      template:
        description:
          - A value composed from other secrets - the text with each C(${name}) placeholder of O(secrets[].refs)
            replaced by the referenced secret's value (percent-encoded by default), for example
            C(postgresql://app:${password}@pgbouncer.internal:6432/app?sslmode=require&pgbouncer=true).
          - The referenced secrets are read by this module (or taken from this call's list, generated values
            included), so their values never pass through the controller.
        type: str
      refs:
        description:
          - For O(secrets[].template) - placeholder name to C({secret, key, encode}); C(secret) is a secret name or
            ARN, C(key) picks one key of a JSON secret, C(encode) is C(url) (default, for URLs), C(none), or
            C(scram-sha-256) - PostgreSQL's SCRAM verifier of the value (for PgBouncer's auth file and the role's
            password), its salt derived from the value and this secret's name so that every run composes the same
            text (module_utils/scram.py says why that costs an attacker nothing).
          - Every placeholder of the template must be listed, and every listed one used.
        type: dict
  kms_key_id:
    description:
      - The KMS key that encrypts every listed secret - a key ARN, a key id (UUID or C(mrk-) id), an alias
        (C(alias/name)) or an alias ARN. Resolved with C(DescribeKey) and compared by key ARN, so giving an alias
        for a secret made with the key's ARN is no difference.
      - Without it, Secrets Manager's AWS managed key C(aws/secretsmanager) is used for new secrets and existing
        ones keep theirs.
      - A changed key re-writes the current value under the new key (a new version), so no value stays under the
        old one.
    type: str
  tags:
    description: Tags on every listed secret (C(managed-by=directfanz.launch) is always added).
    type: dict
    default: {}
  adopt:
    description: Manage listed secrets that exist without the C(managed-by=directfanz.launch) tag (they are tagged).
    type: bool
    default: false
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
attributes:
  check_mode:
    support: full
    description:
      - Reads everything and returns the planned RV(actions), RV(changed_secrets) and C(changed); writes nothing.
        A secret that does not exist yet has the ARN C((new secret NAME)), a value that would change the version
        C((new version)). A KMS key that does not exist yet is a warning in check mode (an earlier phase makes it)
        and an error otherwise.
  diff_mode:
    support: full
    description:
      - Per secret its KMS key, description and tags before and after, and the value only as C((set)), C((none)),
        C((new)), C((changed)) or C((unchanged)) - never the value.
"""

EXAMPLES = r"""
- name: Keep the application's secrets under the launch's KMS key
  directfanz.launch.secrets_manager:
    kms_key_id: alias/directfanz
    tags:
      project: directfanz
    secrets:
      - name: directfanz/app/STRIPE_SECRET_KEY
        value: "{{ stripe_secret_key }}"
      - name: directfanz/app/oauth
        json:
          client_id: "{{ oauth_client_id }}"
          client_secret: "{{ oauth_client_secret }}"
  no_log: true  # the task's arguments carry the values; the module's result does not
  register: written

- name: Generate the database application role's password once (the data phase reads it by ARN)
  directfanz.launch.secrets_manager:
    kms_key_id: alias/directfanz
    secrets:
      - name: directfanz/db/app
        description: PostgreSQL application role
        json:
          username: app
        generate:
          key: password
          length: 40
      - name: directfanz/redis/auth-token
        description: Redis AUTH token (ElastiCache accepts 16-128 printable characters without " / @)
        generate:
          length: 64
          exclude_punctuation: true

- name: Compose DATABASE_URL from the generated password without the controller seeing it
  directfanz.launch.secrets_manager:
    kms_key_id: alias/directfanz
    secrets:
      - name: directfanz/app/DATABASE_URL
        template: "{{ 'pgbouncer.directfanz.internal' | directfanz.launch.database_url('directfanz') }}"
        refs:
          password:
            secret: directfanz/db/app
            key: password
"""

RETURN = r"""
secrets:
  description:
    - Per listed secret (by name) its ARN, current version and whether this run changed it - never its value.
  returned: always
  type: dict
  contains:
    arn:
      description: The secret's ARN (C((new secret NAME)) in check mode before it exists).
      type: str
    version_id:
      description: The C(VersionId) labelled C(AWSCURRENT) (C((new version)) in check mode when it would change).
      type: str
    value_from:
      description:
        - What an ECS container definition's C(secrets[].valueFrom) takes to read this version -
          C(<arn>:<json-key>::<version-id>) with an empty JSON key; a new value gives a new string, so a task
          definition built from it gets a new revision and the service rolls.
      type: str
    changed:
      description: Whether this run creates the secret or writes a new value, key, description or tags.
      type: bool
  sample:
    directfanz/app/JWT_SECRET:
      arn: arn:aws:secretsmanager:us-east-1:123456789012:secret:directfanz/app/JWT_SECRET-a1B2c3
      version_id: 0b6c4e56-4c1f-4a3e-9d0e-1f2a3b4c5d6e
      value_from: "arn:aws:secretsmanager:us-east-1:123456789012:secret:directfanz/app/JWT_SECRET-a1B2c3:::0b6c4e56-4c1f\
        -4a3e-9d0e-1f2a3b4c5d6e"
      changed: false
changed_secrets:
  description: Names of the secrets whose value changed (or that were created) on this run - the ones to roll for.
  returned: always
  type: list
  elements: str
kms_key_arn:
  description: The KMS key O(kms_key_id) resolved to its ARN (empty without O(kms_key_id), or when it does not exist yet).
  returned: always
  type: str
actions:
  description: What was done (in check mode, what would be done), one sentence each, never a value.
  returned: always
  type: list
  elements: str
  sample: ["create secret directfanz/app/NEXTAUTH_SECRET", "put a new value in secret directfanz/app/STRIPE_SECRET_KEY"]
"""

# Why a module of our own: community.aws.secretsmanager_secret handles one secret per task (a task costs ~1 s, the
# application has ~20 keys), cannot generate a value once and keep it, cannot compose a value from another secret
# without the controller reading it, and returns no version id to pin a task definition to.

import json
import re
import secrets as random_source
import string
from urllib.parse import quote

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.directfanz.launch.plugins.module_utils.plan import Plan, apply, aws_call, aws_read, finish
from ansible_collections.directfanz.launch.plugins.module_utils.plan import refuse, retrying_client
from ansible_collections.directfanz.launch.plugins.module_utils import scram

MANAGED_TAG = ("managed-by", "directfanz.launch")
MAX_VALUE_BYTES = 65536
NAME = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,512}$")
PARTIAL_ARN_SUFFIX = re.compile(r"-[A-Za-z0-9]{6}$")
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
MRK = r"mrk-[0-9a-f]{32}"
ALIAS = r"alias/[A-Za-z0-9/_-]{1,250}"
KMS_KEY = re.compile(r"^(?:arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(?:key/(?:%s|%s)|%s)|%s|%s|%s)$"
                     % (UUID, MRK, ALIAS, UUID, MRK, ALIAS))
SECRET_ARN = re.compile(r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$")
PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
DEFAULT_EXCLUDE = "\"'\\/@`"
NEW_VERSION = "(new version)"
MISSING = ("ResourceNotFoundException",)
MIN_MASKED = 8


# ---------------------------------------------------------------------------------------------------------------
# Input checks (before any API call)


def kind_of(entry):
    """Which of value/json/generate/template gives the entry's value (json beside generate is generate's fixed
    keys)."""
    kinds = [k for k in ("value", "generate", "template") if entry.get(k) is not None]
    if entry.get("json") is not None and "generate" not in kinds:
        kinds.append("json")
    return kinds


def _value_bytes(text):
    return len(text.encode("utf-8"))


def entry_problems(index, entry, names):
    """What is wrong with one listed secret - never quoting a value."""
    problems = []
    name = entry.get("name") or ""
    label = "secrets[%d] (%s)" % (index, name)
    if name.startswith("arn:"):
        problems.append("%s: the name is an ARN; accepted: the secret's name, for example directfanz/app/NEXTAUTH_SECRET"
                        % label)
    elif not NAME.match(name):
        problems.append("%s: name %r is not valid; accepted: 1-512 letters, digits or /_+=.@-" % (label, name))
    elif PARTIAL_ARN_SUFFIX.search(name):
        problems.append("%s: name %r ends in a hyphen and six characters, which Secrets Manager reads as a partial ARN;"
                        " accepted: another ending" % (label, name))
    if name in names:
        problems.append("secret %r is listed twice; accepted: each name once" % name)
    names.add(name)
    if len(entry.get("description") or "") > 2048:
        problems.append("%s: description is longer than 2048 characters" % label)
    kinds = kind_of(entry)
    if len(kinds) != 1:
        problems.append("%s: %s; accepted: exactly one of value, json, generate (with json as fixed keys) or template"
                        % (label, "gives %s" % " and ".join(kinds) if kinds else "gives no value"))
        return problems
    kind = kinds[0]
    if kind == "value":
        if entry["value"] == "":
            problems.append("%s: the value is empty; accepted: a non-empty string" % label)
        elif _value_bytes(entry["value"]) > MAX_VALUE_BYTES:
            size = _value_bytes(entry["value"])
            problems.append("%s: the value is %d bytes; accepted: at most %d" % (label, size, MAX_VALUE_BYTES))
    elif kind == "json":
        if not entry["json"]:
            problems.append("%s: json is an empty object; accepted: at least one key" % label)
        elif _value_bytes(canonical_json(entry["json"])) > MAX_VALUE_BYTES:
            problems.append("%s: json is longer than %d bytes" % (label, MAX_VALUE_BYTES))
        else:
            empty = sorted(k for k, v in entry["json"].items() if v is None or v == "")
            if empty:
                problems.append("%s: json keys %s are empty; accepted: non-empty values" % (label, ", ".join(empty)))
    elif kind == "generate":
        problems.extend(generate_problems(label, entry))
    else:
        problems.extend(template_problems(label, entry))
    return problems


def generate_problems(label, entry):
    g = entry["generate"]
    problems = []
    length = g.get("length") or 0
    if not 8 <= length <= 4096:
        problems.append("%s: generate.length is %d; accepted: 8-4096" % (label, length))
    if entry.get("json") is not None and not g.get("key"):
        problems.append("%s: json beside generate needs generate.key (the key that holds the generated value)" % label)
    if g.get("key") and entry.get("json") and g["key"] in entry["json"]:
        problems.append("%s: generate.key %r is also a fixed json key; accepted: another key" % (label, g["key"]))
    if not charset_classes(g):
        problems.append("%s: generate excludes every character; accepted: fewer exclusions" % label)
    return problems


def template_problems(label, entry):
    problems = []
    template = entry["template"]
    refs = entry.get("refs") or {}
    used = set(PLACEHOLDER.findall(template))
    if not template:
        problems.append("%s: the template is empty" % label)
    if not used:
        problems.append("%s: the template has no ${name} placeholder; accepted: value for a fixed string" % label)
    for missing in sorted(used - set(refs)):
        problems.append("%s: placeholder ${%s} has no entry in refs" % (label, missing))
    for unused in sorted(set(refs) - used):
        problems.append("%s: refs.%s is not used by the template" % (label, unused))
    for placeholder, ref in sorted(refs.items()):
        if not isinstance(ref, dict) or not ref.get("secret"):
            problems.append("%s: refs.%s is not {secret, key, encode}; accepted: a secret name or ARN in secret"
                            % (label, placeholder))
            continue
        unknown = sorted(set(ref) - set(["secret", "key", "encode"]))
        if unknown:
            problems.append("%s: refs.%s has unknown fields %s; accepted: secret, key, encode"
                            % (label, placeholder, ", ".join(unknown)))
        secret = str(ref["secret"])
        if not (NAME.match(secret) or SECRET_ARN.match(secret)):
            problems.append("%s: refs.%s.secret %r is not a secret name or ARN" % (label, placeholder, secret))
        if ref.get("encode", "url") not in ENCODINGS:
            problems.append("%s: refs.%s.encode %r is not accepted; accepted: url, none, scram-sha-256"
                            % (label, placeholder, ref.get("encode")))
    return problems


def input_problems(p):
    problems = []
    names = set()
    if not p["secrets"]:
        problems.append("secrets is empty; accepted: at least one secret")
    for index, entry in enumerate(p["secrets"]):
        problems.extend(entry_problems(index, entry, names))
    for index, entry in enumerate(p["secrets"]):
        if entry.get("template") is None:
            continue
        for placeholder, ref in (entry.get("refs") or {}).items():
            listed = [e for e in p["secrets"] if isinstance(ref, dict) and e.get("name") == ref.get("secret")]
            if listed and listed[0].get("template") is not None:
                problems.append("secrets[%d] (%s): refs.%s names another composed secret; accepted: a secret with a "
                                "value, json or generate" % (index, entry.get("name"), placeholder))
    key = p.get("kms_key_id")
    if key is not None and not KMS_KEY.match(key):
        problems.append("kms_key_id %r is not a KMS key; accepted: a key ARN, a key id (UUID or mrk-...), alias/NAME or "
                        "an alias ARN" % key)
    for tag_key, tag_value in sorted((p.get("tags") or {}).items()):
        if str(tag_key).lower().startswith("aws:"):
            problems.append("tag %r uses the reserved prefix aws:; accepted: another key" % tag_key)
        if not 1 <= len(str(tag_key)) <= 128 or len(str(tag_value)) > 256:
            problems.append("tag %r is not accepted; accepted: keys of 1-128 and values of at most 256 characters"
                            % tag_key)
    return problems


# ---------------------------------------------------------------------------------------------------------------
# Values (pure)


def canonical_json(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def charset_classes(g):
    """The character classes a generated value draws from, after the exclusions."""
    excluded = set(g.get("exclude_characters") or "")
    classes = [string.ascii_lowercase, string.ascii_uppercase, string.digits]
    if not g.get("exclude_punctuation"):
        classes.append(string.punctuation)
    classes = ["".join(c for c in chars if c not in excluded) for chars in classes]
    return [chars for chars in classes if chars]


def generate_value(g, choice=random_source.choice, shuffle=None):
    """A random value of ``g['length']`` characters with at least one of each available class (``choice`` is the
    CSPRNG's; tests pass a deterministic one)."""
    classes = charset_classes(g)
    alphabet = "".join(classes)
    chars = [choice(c) for c in classes] + [choice(alphabet) for dummy in range(g["length"] - len(classes))]
    (shuffle or random_source.SystemRandom().shuffle)(chars)
    return "".join(chars)


def _parse_object(text):
    try:
        obj = json.loads(text) if text is not None else None
    except ValueError:
        return None
    return obj if isinstance(obj, dict) else None


def same_value(kind, desired, current):
    """Whether the stored string ``current`` already holds ``desired`` (JSON compared parsed)."""
    if current is None:
        return False
    if kind in ("json", "generate_json"):
        return _parse_object(current) == _parse_object(desired)
    return current == desired


def ref_value(ref, stored):
    """The referenced value, from the stored string (picking ``key`` of a JSON secret); None when it is missing."""
    if stored is None:
        return None
    if ref.get("key"):
        obj = _parse_object(stored)
        if obj is None or ref["key"] not in obj or obj[ref["key"]] in (None, ""):
            return None
        value = obj[ref["key"]]
        return value if isinstance(value, str) else json.dumps(value)
    return stored


ENCODINGS = ("url", "none", "scram-sha-256")


def quote_for(ref, value, context):
    """The referenced value as the template wants it; None when it cannot be encoded so (a SCRAM verifier needs
    printable ASCII)."""
    encode = ref.get("encode", "url")
    if encode == "none":
        return value
    if encode == "scram-sha-256":
        try:
            return scram.derived_verifier(value, context)
        except ValueError:
            return None
    return quote(value, safe="")


def desired_values(p, observed, refs_read, candidates):
    """name -> (kind, desired string or None when a reference is missing, missing reference names), for every
    listed secret. ``candidates`` are fresh random values (name -> string) used only where a value is generated."""
    out = {}
    for entry in p["secrets"]:
        name = entry["name"]
        current = (observed.get(name) or {}).get("value")
        kind = kind_of(entry)[0]
        if kind == "value":
            out[name] = ("value", entry["value"], [])
        elif kind == "json":
            out[name] = ("json", canonical_json(entry["json"]), [])
        elif kind == "generate":
            g = entry["generate"]
            if g.get("key"):
                obj = _parse_object(current) or {}
                kept = obj.get(g["key"]) if not g.get("regenerate") else None
                value = dict(entry.get("json") or {}, **{g["key"]: kept if kept else candidates[name]})
                out[name] = ("generate_json", canonical_json(value), [])
            else:
                keep = current if current and not g.get("regenerate") else None
                out[name] = ("generate", keep or candidates[name], [])
    listed = dict((n, v[1]) for n, v in out.items())
    by_arn = dict((observed[n]["meta"]["ARN"], n) for n in listed if (observed.get(n) or {}).get("meta"))
    for entry in p["secrets"]:
        if entry.get("template") is None:
            continue
        text, missing = entry["template"], []
        for placeholder, ref in sorted(entry["refs"].items()):
            source = ref["secret"]
            if source in listed or source in by_arn:
                stored = listed.get(source, listed.get(by_arn.get(source)))
            else:
                stored = refs_read.get(source)
            value = ref_value(ref, stored)
            encoded = None if value is None else quote_for(ref, value, entry["name"])
            if encoded is None:
                missing.append("%s%s%s" % (source, " (key %s)" % ref["key"] if ref.get("key") else "",
                                           "" if value is None else " (not printable ASCII: no SCRAM verifier)"))
                continue
            text = text.replace("${%s}" % placeholder, encoded)
        out[entry["name"]] = ("template", None if missing else text, missing)
    return out


# ---------------------------------------------------------------------------------------------------------------
# The plan (pure)


def tags_of(meta):
    return dict((t["Key"], t["Value"]) for t in (meta or {}).get("Tags") or [])


def wanted_tags(p):
    return dict(dict((str(k), str(v)) for k, v in (p.get("tags") or {}).items()), **dict([MANAGED_TAG]))


def tag_list(tags):
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


def current_version(meta):
    for version, stages in ((meta or {}).get("VersionIdsToStages") or {}).items():
        if "AWSCURRENT" in stages:
            return version
    return None


def plan_secrets(p, observed, keys, values):
    """The calls that make every listed secret what ``p`` says. ``observed``: name -> {meta (DescribeSecret or None),
    value (the AWSCURRENT string or None)}; ``keys``: {wanted (ARN of kms_key_id, or None when it does not exist),
    observed: key id as stored -> ARN}; ``values``: from `desired_values`. Returns the Plan and, per name, what it
    does (``created``, ``new_value``, ``changed``)."""
    plan = Plan()
    fate = {}
    wanted_key = p.get("kms_key_id")
    wanted_key_arn = keys.get("wanted")
    if wanted_key and wanted_key_arn is None:
        if p.get("_check_mode"):
            plan.warnings.append("KMS key %s does not exist yet; planned with it as given (the data phase makes it)"
                                 % wanted_key)
        else:
            plan.problems.append("KMS key %s does not exist in this account and region; accepted: an existing key "
                                 "(the data phase makes the launch's key)" % wanted_key)
    tags = wanted_tags(p)
    for entry in p["secrets"]:
        name = entry["name"]
        kind, value, missing = values[name]
        seen = observed.get(name) or {}
        meta = seen.get("meta")
        if missing:
            text = ("secret %s is composed from %s, which %s no value"
                    % (name, ", ".join(missing), "has" if len(missing) == 1 else "have"))
            if p.get("_check_mode"):
                plan.warnings.append(text + " yet; planned as changing (an earlier phase makes it)")
            else:
                plan.problems.append(text + "; accepted: references to secrets that exist (run the data phase first)")
        description = entry.get("description") or ""
        if meta is None:
            kwargs = dict(Name=name, SecretString=value or "", Description=description, Tags=tag_list(tags))
            if wanted_key:
                kwargs["KmsKeyId"] = wanted_key
            plan.call("secretsmanager", "create_secret", "create secret %s" % name, "Could not create secret %s" % name,
                      out="secret " + name, pick=["ARN"], **kwargs)
            fate[name] = {"created": True, "new_value": True, "changed": True}
            continue
        arn = meta["ARN"]
        if not tags_of(meta).get(MANAGED_TAG[0]) == MANAGED_TAG[1] and not p.get("adopt"):
            plan.problems.append("secret %s exists and was not made by directfanz.launch (no managed-by tag); accepted: "
                                 "adopt=true to manage it, or another name" % name)
            fate[name] = {"created": False, "new_value": False, "changed": False}
            continue
        texts = []
        if meta.get("DeletedDate"):
            plan.call("secretsmanager", "restore_secret", "restore secret %s (it was scheduled for deletion)" % name,
                      "Could not restore secret %s" % name, SecretId=arn)
        differs = []
        key_differs = bool(wanted_key) and key_arn_of(meta.get("KmsKeyId"), keys) != (wanted_key_arn or wanted_key)
        if key_differs:
            differs.append("kms key %s -> %s" % (meta.get("KmsKeyId") or "aws/secretsmanager", wanted_key))
        if (meta.get("Description") or "") != description:
            differs.append("description")
        new_value = missing != [] or not same_value(kind, value, seen.get("value"))
        if differs:
            kwargs = dict(SecretId=arn, Description=description)
            if wanted_key:
                kwargs["KmsKeyId"] = wanted_key
            if new_value or key_differs:
                # a new key re-writes the value, so the current version is encrypted under it
                kwargs["SecretString"] = value if value is not None else (seen.get("value") or "")
                differs.insert(0, "value" if new_value else "value re-written under the new key")
            texts = ["update secret %s (%s)" % (name, ", ".join(differs))]
            plan.call("secretsmanager", "update_secret", texts, "Could not update secret %s" % name, **kwargs)
        elif new_value:
            plan.call("secretsmanager", "put_secret_value", "put a new value in secret %s" % name,
                      "Could not put a new value in secret %s" % name, SecretId=arn, SecretString=value or "")
        have = tags_of(meta)
        add = dict((k, v) for k, v in tags.items() if have.get(k) != v)
        if add:
            plan.call("secretsmanager", "tag_resource", "tag secret %s (%s)" % (name, ", ".join(sorted(add))),
                      "Could not tag secret %s" % name, SecretId=arn, Tags=tag_list(add))
        rolled = new_value or key_differs
        fate[name] = {"created": False, "new_value": rolled,
                      "changed": bool(rolled or differs or add or meta.get("DeletedDate"))}
    return plan, fate


def key_arn_of(stored, keys):
    """The ARN of the key a secret is stored with (None: the AWS managed key)."""
    if not stored:
        return None
    return keys.get("observed", {}).get(stored, stored)


def view(p, observed, fate=None, values=None, keys=None):
    """diff.before (``fate`` None) or diff.after: per secret what can be shown, the value as a word."""
    out = {}
    for entry in p["secrets"]:
        name = entry["name"]
        meta = (observed.get(name) or {}).get("meta")
        if fate is None:
            if meta is None:
                continue
            out[name] = {"kms_key_id": meta.get("KmsKeyId") or "aws/secretsmanager",
                         "description": meta.get("Description") or "", "tags": tags_of(meta),
                         "value": "(set)" if (observed.get(name) or {}).get("value") is not None else "(none)"}
            continue
        f = fate[name]
        out[name] = {"kms_key_id": p.get("kms_key_id") or (meta or {}).get("KmsKeyId") or "aws/secretsmanager",
                     "description": entry.get("description") or "", "tags": dict(tags_of(meta), **wanted_tags(p)),
                     "value": "(new)" if f["created"] else "(changed)" if f["new_value"] else "(unchanged)"}
    return out


# ---------------------------------------------------------------------------------------------------------------
# Reading and the module


def read_secret(module, client, name):
    meta = aws_read(module, client, "describe secret %s" % name, "describe_secret", missing=MISSING, SecretId=name)
    if meta is None:
        return {"meta": None, "value": None}
    meta.pop("ResponseMetadata", None)
    if meta.get("DeletedDate"):
        return {"meta": meta, "value": None}  # GetSecretValue refuses a secret scheduled for deletion
    answer = aws_read(module, client, "read the value of secret %s" % name, "get_secret_value", missing=MISSING,
                      SecretId=meta["ARN"])
    return {"meta": meta, "value": (answer or {}).get("SecretString")}


def read_ref(module, client, secret):
    answer = aws_read(module, client, "read the value of secret %s (a reference)" % secret, "get_secret_value",
                      missing=MISSING + ("InvalidRequestException",), SecretId=secret)
    return (answer or {}).get("SecretString")


def resolve_key(module, kms, key_id):
    answer = aws_read(module, kms, "describe KMS key %s" % key_id, "describe_key", missing=("NotFoundException",),
                      KeyId=key_id)
    return answer["KeyMetadata"]["Arn"] if answer else None


def value_from(arn, version):
    return "%s:::%s" % (arn, version)


def main():
    generate_spec = dict(
        length=dict(type="int", default=32),
        exclude_characters=dict(type="str", default=DEFAULT_EXCLUDE),
        exclude_punctuation=dict(type="bool", default=False),
        key=dict(type="str", no_log=False),
        regenerate=dict(type="bool", default=False),
    )
    module = AnsibleAWSModule(
        argument_spec=dict(
            secrets=dict(type="list", elements="dict", required=True, no_log=False, options=dict(
                name=dict(type="str", required=True),
                description=dict(type="str", default=""),
                value=dict(type="str", no_log=True),
                json=dict(type="dict", no_log=True),
                generate=dict(type="dict", options=generate_spec),
                template=dict(type="str"),
                refs=dict(type="dict"),
            )),
            kms_key_id=dict(type="str", no_log=False),
            tags=dict(type="dict", default={}),
            adopt=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    # Ansible masks every no_log value wherever it appears in the output, so a short fixed key of a JSON secret
    # (username "app") would mask "app" inside every secret name. Those are not secrets: mask JSON leaves of at
    # least MIN_MASKED characters only. (The result never carries a value; masking is the second lock.)
    for entry in module.params["secrets"] or []:
        for leaf in (entry.get("json") or {}).values():
            if isinstance(leaf, str) and len(leaf) < MIN_MASKED:
                module.no_log_values.discard(leaf)
    p = dict(module.params, _check_mode=module.check_mode)
    problems = input_problems(p)
    if not module.region:
        problems.append("no region is set; accepted: the region option or AWS_REGION in the environment")
    if problems:
        module.fail_json(msg="secrets_manager refused the input (nothing was read or written): %s" % "; ".join(problems),
                         problems=problems)

    client = retrying_client(module, "secretsmanager")
    observed = dict((e["name"], read_secret(module, client, e["name"])) for e in p["secrets"])
    listed = set(observed) | set((o["meta"] or {}).get("ARN") for o in observed.values() if o["meta"])
    refs_read = {}
    for entry in p["secrets"]:
        for ref in (entry.get("refs") or {}).values():
            if ref["secret"] not in listed and ref["secret"] not in refs_read:
                refs_read[ref["secret"]] = read_ref(module, client, ref["secret"])
    keys = {"wanted": None, "observed": {}}
    if p.get("kms_key_id"):
        kms = retrying_client(module, "kms")
        keys["wanted"] = resolve_key(module, kms, p["kms_key_id"])
        for stored in set((o["meta"] or {}).get("KmsKeyId") for o in observed.values() if o["meta"]):
            if stored and stored != p["kms_key_id"]:
                keys["observed"][stored] = resolve_key(module, kms, stored) or stored
        if keys["wanted"]:
            keys["observed"][p["kms_key_id"]] = keys["wanted"]

    candidates = dict((e["name"], generate_value(e["generate"])) for e in p["secrets"] if e.get("generate"))
    values = desired_values(p, observed, refs_read, candidates)
    # values this module made or read are not options, so Ansible does not know to mask them: tell it (the result
    # never carries them, this is the second lock)
    module.no_log_values.update(v for v in candidates.values())
    module.no_log_values.update(v for v in refs_read.values() if v)
    module.no_log_values.update(v[1] for v in values.values() if v[1])
    module.no_log_values.update(o["value"] for o in observed.values() if o["value"])
    plan, fate = plan_secrets(p, observed, keys, values)
    refuse(module, "secrets_manager", plan)
    real = apply(module, plan, clients={"secretsmanager": client})

    results = {}
    for entry in p["secrets"]:
        name = entry["name"]
        meta = observed[name]["meta"]
        if fate[name]["changed"] and not module.check_mode:
            meta = aws_call(module, client, "describe secret %s after writing it" % name, "describe_secret",
                            SecretId=real("(new secret %s)" % name) if fate[name]["created"] else meta["ARN"])
        arn = meta["ARN"] if meta else "(new secret %s)" % name
        version = NEW_VERSION if module.check_mode and fate[name]["new_value"] else (current_version(meta) or NEW_VERSION)
        results[name] = {"arn": arn, "version_id": version, "value_from": value_from(arn, version),
                         "changed": fate[name]["changed"]}
    changed_secrets = [e["name"] for e in p["secrets"] if fate[e["name"]]["new_value"]]
    diff = {"before": view(p, observed), "after": view(p, observed, fate)}
    finish(module, plan, diff=diff, secrets=results, changed_secrets=changed_secrets, kms_key_arn=keys["wanted"] or "")


if __name__ == "__main__":
    main()
