#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: hostinger_nameservers
short_description: Set a domain's name servers at Hostinger, safely
version_added: 0.1.0
description:
  - Sets the name servers of a domain registered at Hostinger through its API (official C(hostinger-api)
    SDK) - the step that moves a domain's DNS to another provider.
  - Compares as a set (lower-cased, trailing dots stripped, order ignored; ns3/ns4 read from the raw
    answer) and changes nothing when they already match.
  - Refuses, before any change, a domain whose status is not C(active), a malformed or duplicate name
    server, and fewer than 2 or more than 4.
  - Writes the previous name servers to O(backup_file) before it changes anything, for a rollback.
author: DirectFanz platform team (@directfanz)
options:
  domain:
    description: The domain, as registered at Hostinger.
    type: str
    required: true
  nameservers:
    description: The 2 to 4 name servers to set, as host names.
    type: list
    elements: str
    required: true
  backup_file:
    description:
      - Before a change, write the previous name servers and the time there as JSON (mode 0600). A rollback
        sets them back from it.
    type: path
extends_documentation_fragment:
  - directfanz.launch.hostinger
attributes:
  check_mode:
    support: full
    description: Reads the domain and reports what it would change; never sends the change.
  diff_mode:
    support: full
    description: The name servers before and after, one per line.
"""

EXAMPLES = r"""
- name: Hand the domain's DNS to Route 53
  directfanz.launch.hostinger_nameservers:
    domain: example.com
    nameservers: "{{ route53_zone_result.nameservers }}"
    backup_file: "{{ playbook_dir }}/../backups/example.com-nameservers.json"
"""

RETURN = r"""
previous_nameservers:
  description: The name servers before the run (as Hostinger listed them).
  returned: always
  type: list
  elements: str
nameservers:
  description: The name servers after the run (in check mode, what they would be).
  returned: always
  type: list
  elements: str
domain_status:
  description: The domain's status at Hostinger.
  returned: always
  type: str
backup_file:
  description: Where the previous name servers were written (only when a change was made).
  returned: changed
  type: str
"""

import json
import os
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.directfanz.launch.plugins.module_utils.hostinger import (
    HOSTINGER_ARGSPEC, HostingerError, client_for, nameserver_list)
from ansible_collections.directfanz.launch.plugins.module_utils.validation import domain_problem


def canonical(ns):
    return ns.strip().lower().rstrip(".")


def write_backup(path, record):
    """Atomically, readable by the owner only: a half-written backup is worse than none."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o700)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".nameservers-")
    with os.fdopen(fd, "w") as f:
        json.dump(record, f, indent=2)
        f.write("\n")
    os.chmod(tmp, 0o600)
    os.rename(tmp, path)


def main():
    argument_spec = dict(
        domain=dict(type="str", required=True),
        nameservers=dict(type="list", elements="str", required=True),
        backup_file=dict(type="path"),
    )
    argument_spec.update(HOSTINGER_ARGSPEC)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    domain = p["domain"].lower().rstrip(".")

    # Everything about the input is checked before the first request.
    problems = []
    problem = domain_problem(domain)
    if problem:
        problems.append("domain %r is not valid: %s" % (p["domain"], problem))
    wanted = [canonical(ns) for ns in p["nameservers"]]
    if not 2 <= len(wanted) <= 4:
        problems.append("%d name servers given; Hostinger takes 2 to 4" % len(wanted))
    for given in p["nameservers"]:
        bad = domain_problem(canonical(given))
        if bad:
            problems.append("name server %r is not a valid host name: %s" % (given, bad))
    duplicates = sorted(set(ns for ns in wanted if wanted.count(ns) > 1))
    if duplicates:
        problems.append("name server(s) listed more than once: %s" % ", ".join(duplicates))
    if problems:
        module.fail_json(msg="; ".join(problems))
    client = client_for(module)

    try:
        entry = client.domain(domain)
        status = entry.get("status")
        previous = nameserver_list(entry.get("name_servers"))
        changed = set(canonical(ns) for ns in previous) != set(wanted)
        result = dict(changed=changed, previous_nameservers=previous, domain_status=status,
                      nameservers=wanted if changed else previous)
        if module._diff:
            after = wanted if changed else [canonical(ns) for ns in previous]
            result["diff"] = {"before": "".join(canonical(ns) + "\n" for ns in previous),
                              "after": "".join(ns + "\n" for ns in after)}
        if changed and status != "active":
            module.fail_json(msg="%s has status %r at Hostinger; name servers can only be changed on an active"
                                 " domain. Resolve the domain's status in hPanel first." % (domain, status), **result)
        if changed and not module.check_mode:
            if p["backup_file"]:
                write_backup(p["backup_file"], {"domain": domain, "nameservers": previous,
                                                "saved_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                                "replaced_by": wanted})
                result["backup_file"] = p["backup_file"]
            client.set_nameservers(domain, wanted)
    except HostingerError as exc:
        module.fail_json(msg=str(exc), **exc.result())
    except (IOError, OSError) as exc:
        module.fail_json(msg="could not write backup_file %s: %s; nothing was changed" % (p["backup_file"], exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
