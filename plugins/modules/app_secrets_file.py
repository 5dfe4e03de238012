#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: app_secrets_file
short_description: The owner's vault-encrypted dotenv secrets file, validated and written to Secrets Manager
version_added: 0.3.0
description:
  - An action plugin (it runs on the controller). Reads O(src), refuses it unless it is ansible-vault encrypted
    (its first bytes are C($ANSIBLE_VAULT;)), decrypts it in memory with the play's vault secrets, parses it with
    python-dotenv (no variable interpolation - a C($) in a secret stays a C($), and nothing of the controller's
    environment leaks in) and validates it against the schema in O(schema_file) - all before any AWS call.
  - Refused, each with the key and the line but never the value - a malformed line, a key set twice, a key not in
    the schema (unless O(unknown_keys=warn)), a forbidden or composed key, a missing required key, a value shorter
    or longer than allowed, a value that does not match the format declared for O(environment) (for example
    C(sk_live_) Stripe keys in production and C(sk_test_) in the sandbox), a line break in a key not declared
    multiline.
  - Then runs M(directfanz.launch.secrets_manager) with one secret per key, named O(name_prefix) + key, plus the
    O(composed) entries, the values passed as no_log module arguments. The result carries key names, ARNs and
    version ids only, and is scrubbed against every value before it is returned.
  - Other options (C(region), C(endpoint_url), credentials) go to M(directfanz.launch.secrets_manager) as they
    are, so module_defaults for the AWS group reach it.
author: DirectFanz platform team (@directfanz)
options:
  src:
    description: Path of the vault-encrypted dotenv file on the controller.
    type: path
    required: true
  schema_file:
    description:
      - A YAML file with C(app_secrets_schema), a list of entries C({key, required, description, min_length,
        max_length, pattern, patterns, format, formats, multiline, forbidden, composed, requires, services}).
      - C(pattern) must match the whole value; C(patterns) maps an environment to its own pattern (it wins over
        C(pattern)); C(format)/C(formats) are the words a message uses instead of the expression. C(forbidden) (a
        reason) refuses the key; C(composed) (what composes it) refuses it in the file because the launch writes
        it; C(requires) lists keys that must be set with it; C(services) says which services read it.
    type: path
    required: true
  schema_extra:
    description: More schema entries, added to (or replacing by key) those of O(schema_file).
    type: list
    elements: dict
    default: []
  environment:
    description: Which formats apply (C(patterns) of the schema are keyed by it).
    type: str
    choices: [production, sandbox, staging]
    required: true
  name_prefix:
    description: Prefix of every secret's name, ending in C(/), for example C(directfanz/app/).
    type: str
    required: true
  description_prefix:
    description: Put before each key's schema description to make the secret's description.
    type: str
    default: ""
  kms_key_id:
    description: The KMS key of the secrets (see M(directfanz.launch.secrets_manager)).
    type: str
  tags:
    description: Tags on every secret.
    type: dict
    default: {}
  composed:
    description:
      - Entries passed to M(directfanz.launch.secrets_manager) beside the file's keys, typically C(template) +
        C(refs) entries for DATABASE_URL, DIRECT_URL and REDIS_URL (values composed from other secrets in the
        module).
    type: list
    elements: dict
    default: []
  unknown_keys:
    description: What a key that is not in the schema does - C(fail) (the run stops), or C(warn) (it is not written).
    type: str
    choices: [fail, warn]
    default: fail
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
attributes:
  action:
    support: full
    description: Runs on the controller; the secrets file never leaves it except as module arguments.
  check_mode:
    support: full
    description: Validates the file and plans the writes (M(directfanz.launch.secrets_manager) in check mode).
  diff_mode:
    support: full
    description: The secrets' before and after, values only as C((changed)), C((unchanged)) or C((new)).
notes:
  - The vault password comes from the play (C(--vault-password-file), C(--ask-vault-pass), C(--vault-id)); the file is
    decrypted in memory, never to a temporary file.
"""

EXAMPLES = r"""
- name: Validate the owner's secrets and write them to Secrets Manager
  directfanz.launch.app_secrets_file:
    src: "{{ inventory_dir }}/files/.env.production.secrets"
    schema_file: "{{ role_path }}/vars/schema.yml"
    environment: production
    name_prefix: directfanz/app/
    kms_key_id: alias/directfanz
  register: app_secrets
"""

RETURN = r"""
secrets:
  description: Per key of the file (and composed entry) the secret's name, ARN, current version and C(value_from).
  returned: success
  type: dict
  sample:
    NEXTAUTH_SECRET:
      name: directfanz/app/NEXTAUTH_SECRET
      arn: arn:aws:secretsmanager:us-east-1:123456789012:secret:directfanz/app/NEXTAUTH_SECRET-a1B2c3
      version_id: 0b6c4e56-4c1f-4a3e-9d0e-1f2a3b4c5d6e
      value_from: "arn:aws:secretsmanager:us-east-1:123456789012:secret:directfanz/app/NEXTAUTH_SECRET-a1B2c3:::0b6c\
        4e56-4c1f-4a3e-9d0e-1f2a3b4c5d6e"
      changed: false
keys:
  description: The file's keys that were written, in file order.
  returned: success
  type: list
  elements: str
count:
  description: How many keys of the file were written.
  returned: success
  type: int
changed_secrets:
  description: Keys (and composed names) whose value was created or changed on this run.
  returned: success
  type: list
  elements: str
problems:
  description: Why the file was refused, one sentence each (key and line, never a value).
  returned: failure
  type: list
  elements: str
actions:
  description: What was done (in check mode, what would be done).
  returned: success
  type: list
  elements: str
"""
