# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PostgreSQL's SCRAM-SHA-256 verifier, shared by the data filters (which render PgBouncer's auth file in the tests
and the docs) and secrets_manager (which composes the pooler's auth-file secret from the generated password, so the
password never passes through the controller).

Why we compute verifiers at all: PgBouncer passes a client's SCRAM login through to PostgreSQL only when the secret
in its auth file and the server's are the same (same salt, same iterations). Setting the role's password to a
verifier computed here (ALTER ROLE ... PASSWORD 'SCRAM-SHA-256$...') makes them identical.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import hmac
import re

VERIFIER = re.compile(r"^SCRAM-SHA-256\$(\d+):([A-Za-z0-9+/]+=*)\$([A-Za-z0-9+/]{43}=):([A-Za-z0-9+/]{43}=)\Z")
ITERATIONS = 4096


def verifier(password, salt, iterations=ITERATIONS):
    """The stored secret for ``password`` (RFC 5802 / RFC 7677) with ``salt`` (base64). Raises ValueError.

    PostgreSQL normalises passwords with SASLprep; for printable ASCII that is the identity, so other passwords are
    refused rather than hashed differently from the server."""
    if not isinstance(password, str) or not password:
        raise ValueError("the SCRAM password must be a non-empty string")
    if not all(32 <= ord(c) < 127 for c in password):
        raise ValueError("the SCRAM password must be printable ASCII (PostgreSQL's SASLprep would change other "
                         "characters)")
    try:
        raw_salt = base64.b64decode(str(salt), validate=True)
    except (ValueError, TypeError):
        raise ValueError("the SCRAM salt must be base64, got a value that is not")
    if len(raw_salt) < 8:
        raise ValueError("the SCRAM salt must be at least 8 bytes (16 recommended), got %d" % len(raw_salt))
    iterations = int(iterations)
    if iterations < ITERATIONS:
        raise ValueError("SCRAM iterations must be at least %d (RFC 7677), got %d" % (ITERATIONS, iterations))
    salted = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), raw_salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    return "SCRAM-SHA-256$%d:%s$%s:%s" % (iterations, _b64(raw_salt), _b64(stored_key), _b64(server_key))


def derived_salt(password, context):
    """A 16-byte salt derived from the password itself, for a verifier that must come out the same on every run
    (a composed secret is compared with what is stored, and a random salt would rewrite it each time).

    Derived with PBKDF2 at the verifier's own iteration count, so guessing the password from the salt costs as much
    as guessing it from the verifier; ``context`` (the composed secret's name) is mixed in so that no table computed
    for one deployment serves another. Meant for generated passwords (high entropy); the cost of identical verifiers
    for identical passwords is that they are recognisable as identical."""
    raw = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), b"directfanz.launch/scram-salt/" +
                              str(context).encode("utf-8"), ITERATIONS, 16)
    return _b64(raw)


def derived_verifier(password, context):
    """``verifier`` with ``derived_salt``: the same text for the same password and context, every run."""
    return verifier(password, derived_salt(password, context), ITERATIONS)


def _b64(data):
    return base64.b64encode(data).decode("ascii")
