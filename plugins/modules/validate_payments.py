#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: validate_payments
short_description: Prove payments work - the Stripe account, its webhook endpoint, a charge, a decline, signed events
version_added: 0.7.0
description:
  - The payments check of the validate phase (launch criteria 5.3 and 4.5), against Stripe's test mode or a
    stand-in at O(api_base).
  - C(stripe account) (4.5) - GET /v1/account answers with the key.
  - C(stripe webhook endpoint) (4.5) - a webhook endpoint with the URL O(webhook_url) (default
    C(https://<domain>/api/webhooks/stripe)) exists, is enabled and sends every event of O(required_events).
  - C(payment confirmed and refunded) (5.3) - a PaymentIntent of O(amount) confirmed with O(payment_method)
    (C(pm_card_visa)) succeeds and its refund is accepted at once.
  - C(declined card declines) (5.3, critical) - a PaymentIntent confirmed with O(declined_payment_method) is declined
    (a declined card that is charged is refunded at once and fails the case).
  - C(webhook signed event accepted) and C(webhook bad signature rejected) (5.3; the second critical) - an event
    signed with O(webhook_secret) as Stripe signs it is accepted (2xx) by the app's endpoint, the same event with a
    wrong signature is refused (4xx).
  - Only test keys (C(sk_test_)/C(rk_test_)) unless O(live_charge) is true; then the charge uses
    O(payment_method) (a real one) and is refunded at once, and the test-card decline is C(not_run).
  - Check mode - the account and endpoint are read; the charge, decline and webhook cases are C(not_run)
    "check mode".
  - The Stripe API is reached through O(api_resolvers) (default the system resolver - the launch's own name
    servers do not answer for api.stripe.com); the app's webhook through O(resolvers), with SNI/Host = the name.
  - Reading configuration retries 429/5xx; writes carry an Idempotency-Key, so their retries cannot charge twice.
author: DirectFanz platform team (@directfanz)
options:
  secret_key:
    description: The Stripe secret (or restricted) key. Never returned.
    type: str
    required: true
  webhook_secret:
    description: The webhook endpoint's signing secret (C(whsec_...)); without it the webhook cases are C(not_run).
      Never returned.
    type: str
  domain:
    description: The platform's domain (the default O(webhook_url) is C(https://<domain>/api/webhooks/stripe)).
    type: str
    required: true
  webhook_url:
    description: The URL the webhook endpoint at Stripe must have.
    type: str
  webhook_delivery_url:
    description: Where the signed probe events are posted; default O(webhook_url) (the sandbox points it at the
      app's plain HTTP port).
    type: str
  required_events:
    description: The events the app needs from Stripe.
    type: list
    elements: str
    default: [payment_intent.succeeded, payment_intent.payment_failed, charge.refunded,
              customer.subscription.created, customer.subscription.updated, customer.subscription.deleted,
              invoice.paid, invoice.payment_failed]
  api_base:
    description: The Stripe API's base URL.
    type: str
    default: https://api.stripe.com
  api_resolvers:
    description: Resolvers for O(api_base)'s host; empty - the system resolver.
    type: list
    elements: raw
    default: []
  resolvers:
    description: Resolvers for the app's names (O(webhook_delivery_url)); empty - the system resolver.
    type: list
    elements: raw
    default: []
  ca_file:
    description: CA bundle the app's TLS is verified against; default the system store (Stripe always is).
    type: path
  live_charge:
    description: Allow a live key; the charge is then real and refunded at once.
    type: bool
    default: false
  payment_method:
    description: The payment method of the charge.
    type: str
    default: pm_card_visa
  declined_payment_method:
    description: A test payment method Stripe declines.
    type: str
    default: pm_card_chargeDeclined
  amount:
    description: Amount of the charge in the currency's smallest unit (50-100000).
    type: int
    default: 100
  currency:
    description: Three-letter ISO currency code.
    type: str
    default: usd
  timeout:
    description: Seconds each request may take.
    type: float
    default: 20
attributes:
  check_mode:
    support: full
    description: Reads only; the charge, decline and webhook probes are C(not_run).
  diff_mode:
    support: none
    description: Changes nothing it keeps (a test charge is refunded).
notes:
  - Requires requests and dnspython on the host that runs it.
"""

EXAMPLES = r"""
- name: Charge and refund a test card, check a decline and the webhook signatures
  directfanz.launch.validate_payments:
    domain: example.com
    secret_key: "{{ stripe_secret_key }}"
    webhook_secret: "{{ stripe_webhook_secret }}"
    resolvers: "{{ launch_validate_resolvers }}"
"""

RETURN = r"""
cases:
  description: Suite C(payments) - C(stripe account), C(stripe webhook endpoint) (criterion 4.5), C(payment confirmed
    and refunded), C(declined card declines), C(webhook signed event accepted), C(webhook bad signature rejected)
    (criterion 5.3). Evidence carries object ids and statuses, never a key.
  returned: always
  type: list
  elements: dict
"""

import re
import time
import uuid

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.directfanz.launch.plugins.module_utils import validate_checks as C
from ansible_collections.directfanz.launch.plugins.module_utils import validate_net as N

try:
    import requests
    HAS_REQUESTS = True
    REQUESTS_ERROR = None
except ImportError as exc:
    HAS_REQUESTS = False
    REQUESTS_ERROR = exc

SUITE = "payments"
TEST_KEY = re.compile(r"^(sk|rk)_test_\S+$")
LIVE_KEY = re.compile(r"^(sk|rk)_live_\S+$")


class StripeError(Exception):
    def __init__(self, message, status=None, body=None):
        super().__init__(message)
        self.status, self.body = status, body or {}


class Stripe:
    """The few Stripe calls the check makes, form-encoded as Stripe's API takes them."""

    def __init__(self, api_base, key, session, timeout):
        self.base, self.key, self.session, self.timeout = api_base.rstrip("/"), key, session, timeout

    def call(self, method, path, data=None, idempotent=False):
        headers = {"Authorization": "Bearer %s" % self.key}
        if method == "POST":
            headers["Idempotency-Key"] = "launch-validate-%s" % uuid.uuid4().hex
        url = self.base + path

        def send():
            return self.session.request(method, url, data=data, headers=headers, timeout=self.timeout)
        try:
            response = N.retrying(send) if (method == "GET" or idempotent) else send()
        except N.ResolutionError as exc:
            raise StripeError(str(exc))
        except requests.exceptions.Timeout:
            raise StripeError("%s %s timed out after %s s" % (method, path, self.timeout))
        except requests.exceptions.RequestException as exc:
            raise StripeError("%s %s: %s" % (method, path, N.error_text(exc)))
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code >= 400:
            err = body.get("error") or {}
            raise StripeError("%s %s answered HTTP %d: %s" % (method, path, response.status_code, err.get(
                "message") or C.truncate(response.text, 200)), response.status_code, body)
        return body


def check_account(stripe, live):
    try:
        account = stripe.call("GET", "/v1/account")
    except StripeError as exc:
        return C.case("stripe account", SUITE, "4.5", "the Stripe account answers the key", "fail", message=str(exc))
    evidence = {"account": account.get("id"), "charges_enabled": account.get("charges_enabled"),
                "country": account.get("country"), "mode": "live" if live else "test"}
    if live and not account.get("charges_enabled"):
        return C.case("stripe account", SUITE, "4.5", "the Stripe account answers the key", "fail",
                      message="the live account %s cannot take charges yet (charges_enabled false)"
                              % account.get("id"), evidence=evidence)
    return C.case("stripe account", SUITE, "4.5", "the Stripe account answers the key", "pass", evidence=evidence)


def check_endpoint(stripe, url, required):
    name = "the Stripe webhook endpoint %s is enabled with the app's events" % url
    try:
        listing = stripe.call("GET", "/v1/webhook_endpoints?limit=100")
    except StripeError as exc:
        return C.case("stripe webhook endpoint", SUITE, "4.5", name, "fail", message=str(exc))
    endpoints = listing.get("data") or []
    mine = [e for e in endpoints if e.get("url") == url]
    evidence = {"url": url, "endpoints": [{"id": e.get("id"), "url": e.get("url"), "status": e.get("status")}
                                          for e in endpoints][:10]}
    if not mine:
        return C.case("stripe webhook endpoint", SUITE, "4.5", name, "fail", evidence=evidence,
                      message="no webhook endpoint has the URL %s (the account has %s)" % (
                          url, ", ".join(str(e.get("url")) for e in endpoints) or "none"))
    endpoint = mine[0]
    problems = C.webhook_endpoint_problems(endpoint, url, required)
    evidence.update(id=endpoint.get("id"), enabled_events=endpoint.get("enabled_events"),
                    status=endpoint.get("status"))
    return C.case("stripe webhook endpoint", SUITE, "4.5", name, "fail" if problems else "pass",
                  message="the endpoint %s: %s" % (endpoint.get("id"), "; ".join(problems)), evidence=evidence)


def intent(stripe, amount, currency, payment_method):
    return stripe.call("POST", "/v1/payment_intents", idempotent=True, data={
        "amount": amount, "currency": currency, "payment_method": payment_method, "confirm": "true",
        "payment_method_types[]": "card",
        "metadata[launch_probe]": "true"})


def refund(stripe, pi_id):
    return stripe.call("POST", "/v1/refunds", data={"payment_intent": pi_id}, idempotent=True)


def check_charge(stripe, p):
    name = "a payment of %d %s with %s is confirmed and refunded" % (p["amount"], p["currency"], p["payment_method"])
    try:
        pi = intent(stripe, p["amount"], p["currency"], p["payment_method"])
    except StripeError as exc:
        return C.case("payment confirmed and refunded", SUITE, "5.3", name, "fail", message=str(exc))
    evidence = {"payment_intent": pi.get("id"), "status": pi.get("status"), "amount": pi.get("amount")}
    if pi.get("status") != "succeeded":
        return C.case("payment confirmed and refunded", SUITE, "5.3", name, "fail", evidence=evidence,
                      message="the PaymentIntent %s is %s, not succeeded" % (pi.get("id"), pi.get("status")))
    try:
        back = refund(stripe, pi["id"])
    except StripeError as exc:
        return C.case("payment confirmed and refunded", SUITE, "5.3", name, "fail", evidence=evidence,
                      message="the charge succeeded but its refund failed: %s" % exc)
    evidence.update(refund=back.get("id"), refund_status=back.get("status"))
    if back.get("status") not in ("succeeded", "pending"):
        return C.case("payment confirmed and refunded", SUITE, "5.3", name, "fail", evidence=evidence,
                      message="the refund %s is %s" % (back.get("id"), back.get("status")))
    return C.case("payment confirmed and refunded", SUITE, "5.3", name, "pass", evidence=evidence)


def check_decline(stripe, p):
    name = "a payment with the declined test card %s is declined" % p["declined_payment_method"]
    try:
        pi = intent(stripe, p["amount"], p["currency"], p["declined_payment_method"])
    except StripeError as exc:
        err = exc.body.get("error") or {}
        declined = exc.status == 402 or err.get("type") == "card_error" or err.get("code") == "card_declined"
        evidence = {"status": exc.status, "code": err.get("code"), "decline_code": err.get("decline_code"),
                    "payment_intent": (err.get("payment_intent") or {}).get("id")}
        if declined:
            return C.case("declined card declines", SUITE, "5.3", name, "pass", critical=True, evidence=evidence)
        return C.case("declined card declines", SUITE, "5.3", name, "fail", critical=True, evidence=evidence,
                      message="the payment failed, but not as a decline: %s" % exc)
    evidence = {"payment_intent": pi.get("id"), "status": pi.get("status"),
                "last_payment_error": (pi.get("last_payment_error") or {}).get("code")}
    if pi.get("status") in ("requires_payment_method", "canceled") and pi.get("last_payment_error"):
        return C.case("declined card declines", SUITE, "5.3", name, "pass", critical=True, evidence=evidence)
    message = "the declined test card was not declined: the PaymentIntent %s is %s" % (pi.get("id"), pi.get("status"))
    if pi.get("status") == "succeeded":
        try:
            evidence["refund"] = refund(stripe, pi["id"]).get("id")
            message += " (refunded at once)"
        except StripeError as exc:
            message += " and its refund failed: %s" % exc
    return C.case("declined card declines", SUITE, "5.3", name, "fail", critical=True, message=message,
                  evidence=evidence)


def post_event(session, url, body, signature, timeout):
    try:
        response = session.post(url, data=body.encode(), timeout=timeout, allow_redirects=False,
                                headers={"Content-Type": "application/json", "Stripe-Signature": signature,
                                         "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)"})
    except N.ResolutionError as exc:
        return None, str(exc)
    except requests.exceptions.Timeout:
        return None, "timed out after %s s" % timeout
    except requests.exceptions.RequestException as exc:
        return None, N.error_text(exc)
    return response, ""


def check_webhooks(session, p, url):
    now = int(time.time())
    body = C.probe_event("payment_intent.succeeded", "pi_launch_probe", now)
    good = C.stripe_signature(body, p["webhook_secret"], now)
    bad = C.stripe_signature(body, "whsec_not_the_signing_secret_" + uuid.uuid4().hex, now)
    out = []
    response, problem = post_event(session, url, body, good, p["timeout"])
    evidence = {"url": url, "event": "payment_intent.succeeded"}
    if response is None:
        out.append(C.case("webhook signed event accepted", SUITE, "5.3", "the app accepts an event signed with the "
                          "signing secret", "fail", message=problem, evidence=evidence))
    else:
        ok = 200 <= response.status_code < 300
        out.append(C.case("webhook signed event accepted", SUITE, "5.3", "the app accepts an event signed with the "
                          "signing secret", "pass" if ok else "fail", measured=response.status_code,
                          threshold="2xx", evidence=dict(evidence, status=response.status_code,
                                                         body=C.truncate(response.text, 200)),
                          message="" if ok else "the app answered HTTP %d to a correctly signed event: its signing "
                          "secret is not the endpoint's" % response.status_code))
    response, problem = post_event(session, url, body, bad, p["timeout"])
    name = "the app rejects an event with a wrong signature"
    if response is None:
        out.append(C.case("webhook bad signature rejected", SUITE, "5.3", name, "fail", critical=True,
                          message=problem, evidence=evidence))
    else:
        rejected = 400 <= response.status_code < 500
        out.append(C.case("webhook bad signature rejected", SUITE, "5.3", name, "pass" if rejected else "fail",
                          critical=True, measured=response.status_code, threshold="4xx",
                          evidence=dict(evidence, status=response.status_code, body=C.truncate(response.text, 200)),
                          message="" if rejected else "the app answered HTTP %d to a wrongly signed event: it does "
                          "not verify signatures" % response.status_code))
    return out


def main():
    module = AnsibleModule(
        argument_spec=dict(
            secret_key=dict(type="str", required=True, no_log=True),
            webhook_secret=dict(type="str", no_log=True),
            domain=dict(type="str", required=True),
            webhook_url=dict(type="str"),
            webhook_delivery_url=dict(type="str"),
            required_events=dict(type="list", elements="str", default=[
                "payment_intent.succeeded", "payment_intent.payment_failed", "charge.refunded",
                "customer.subscription.created", "customer.subscription.updated", "customer.subscription.deleted",
                "invoice.paid", "invoice.payment_failed"]),
            api_base=dict(type="str", default="https://api.stripe.com"),
            api_resolvers=dict(type="list", elements="raw", default=[]),
            resolvers=dict(type="list", elements="raw", default=[]),
            ca_file=dict(type="path"),
            live_charge=dict(type="bool", default=False),
            payment_method=dict(type="str", default="pm_card_visa"),
            declined_payment_method=dict(type="str", default="pm_card_chargeDeclined"),
            amount=dict(type="int", default=100),
            currency=dict(type="str", default="usd"),
            timeout=dict(type="float", default=20),
        ),
        supports_check_mode=True,
    )
    p = module.params
    problems = []
    live = bool(LIVE_KEY.match(p["secret_key"]))
    if not TEST_KEY.match(p["secret_key"]) and not live:
        problems.append("secret_key is not a Stripe secret key (accepted: sk_test_..., rk_test_..., or with "
                        "live_charge: true sk_live_.../rk_live_...)")
    elif live and not p["live_charge"]:
        problems.append("secret_key is a live key; accepted: a test key (sk_test_/rk_test_), or live_charge: true "
                        "for a real charge refunded at once")
    if p["webhook_secret"] is not None and not p["webhook_secret"].startswith("whsec_"):
        problems.append("webhook_secret is not a signing secret (accepted: whsec_...)")
    if not re.match(r"^[a-z0-9-]+(\.[a-z0-9-]+)+$", p["domain"].lower().rstrip(".")):
        problems.append("domain %r is not a domain name" % p["domain"])
    for key in ("api_base", "webhook_url", "webhook_delivery_url"):
        if p[key] and N.url_problem(p[key]):
            problems.append("%s %s" % (key, N.url_problem(p[key])))
    problems += N.resolver_problems(p["resolvers"]) + N.resolver_problems(p["api_resolvers"])
    if not 50 <= p["amount"] <= 100000:
        problems.append("amount %s must be between 50 and 100000 (smallest currency unit)" % p["amount"])
    if not re.match(r"^[a-z]{3}$", p["currency"]):
        problems.append("currency %r is not a three-letter ISO code in lower case (accepted: usd, eur...)"
                        % p["currency"])
    if not 0 < p["timeout"] <= 120:
        problems.append("timeout %s must be between 0 and 120 seconds" % p["timeout"])
    if problems:
        module.fail_json(msg="; ".join(problems))
    if not HAS_REQUESTS:
        module.fail_json(msg=missing_required_lib("requests"), exception=str(REQUESTS_ERROR))

    domain = p["domain"].lower().rstrip(".")
    webhook_url = p["webhook_url"] or "https://%s/api/webhooks/stripe" % domain
    api_session = N.session(N.NameResolver(p["api_resolvers"]))
    app_session = N.session(N.NameResolver(p["resolvers"]), p["ca_file"])
    stripe = Stripe(p["api_base"], p["secret_key"], api_session, p["timeout"])
    cases = [check_account(stripe, live), check_endpoint(stripe, webhook_url, p["required_events"])]
    charge_name = "a payment with %s is confirmed and refunded" % p["payment_method"]
    decline_name = "a payment with the declined test card %s is declined" % p["declined_payment_method"]
    if module.check_mode:
        cases += [C.case("payment confirmed and refunded", SUITE, "5.3", charge_name, "not_run", message="check mode"),
                  C.case("declined card declines", SUITE, "5.3", decline_name, "not_run", critical=True,
                         message="check mode")]
    else:
        cases.append(check_charge(stripe, p))
        cases.append(check_decline(stripe, p) if not live else C.case(
            "declined card declines", SUITE, "5.3", decline_name, "not_run", critical=True,
            message="live mode: Stripe's test cards do not exist in live mode"))
    webhook_names = (("webhook signed event accepted", "the app accepts an event signed with the signing secret",
                      False), ("webhook bad signature rejected", "the app rejects an event with a wrong signature",
                               True))
    if module.check_mode or not p["webhook_secret"]:
        reason = "check mode" if module.check_mode else "no webhook_secret given"
        cases += [C.case(i, SUITE, "5.3", n, "not_run", critical=crit, message=reason) for i, n, crit in webhook_names]
    else:
        cases += check_webhooks(app_session, p, p["webhook_delivery_url"] or webhook_url)
    secrets = [p["secret_key"], p["webhook_secret"]]
    module.exit_json(changed=False, cases=C.redact(cases, secrets))


if __name__ == "__main__":
    main()
