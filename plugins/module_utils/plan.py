# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one plan/apply shape every AWS module of the collection follows.

A module (1) validates its input with no API call, (2) reads everything it manages, (3) hands what it read to
a pure planner that returns a `Plan` - the steps in the order they can run, each with the "actions" lines it
stands for, plus the problems that refuse the whole change and the warnings - and (4) lets `apply` make the
steps' calls (none in check mode) and `finish` report. Only (2) and (4) touch AWS, so the planner is unit-tested
on plain dicts and check mode cannot mutate: nothing but `apply` calls a writing method, and `apply` returns
before its first step in check mode.

A step that makes something gets a placeholder id ("(new subnet x)") that later steps carry in their arguments;
`apply` replaces each placeholder with the real id as it goes, and in check mode the placeholders are what the
module reports.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

try:
    import botocore
    import botocore.parsers

    # An answer that is not AWS's (an HTML error page from a proxy, say) raises ResponseParserError, which is
    # not a BotoCoreError: it gets the same "Could not ..." message.
    AWS_ERRORS = (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError,
                  botocore.parsers.ResponseParserError)
except ImportError:
    AWS_ERRORS = ()  # AnsibleAWSModule reports a missing botocore

from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry


class Plan:
    """Steps in the order they run, and what refuses or qualifies the change.

    A step is a dict with ``op`` (an API method name, or the name of a handler the module gives `apply`),
    ``texts`` (the actions lines it stands for; none for a step that only waits or reads) and its arguments.
    A step made by `call` carries ``service``, ``kwargs``, ``failure`` (what "Could not ..." says) and ``pick``
    (the path in the answer to the id it makes)."""

    def __init__(self):
        self.steps = []
        self.ids = {}
        self.problems = []
        self.warnings = []

    def add(self, op, texts, out=None, **args):
        """A step for a handler; returns the placeholder of what it makes, if it makes something."""
        step = dict(args, op=op, texts=[texts] if isinstance(texts, str) else list(texts or []))
        if out:
            step["out"] = "(new %s)" % out
        self.steps.append(step)
        return step.get("out")

    def call(self, service, method, texts, failure, out=None, pick=None, **kwargs):
        """A step that is one API call: ``service.method(**kwargs)``; ``pick`` (a key path) finds the id of what
        it makes in the answer. ``failure`` names what failed ("create repository x"; a leading "Could not " is
        dropped, since the message adds it). A handler's name must not be an API method a step calls."""
        if failure.startswith("Could not "):
            failure = failure[len("Could not "):]
        return self.add(method, texts, out=out, service=service, kwargs=kwargs, failure=failure,
                        pick=list(pick or []))

    @property
    def actions(self):
        return [text for step in self.steps for text in step["texts"]]

    @property
    def changed(self):
        return bool(self.actions)


def substitute(value, made):
    """``value`` with every placeholder that ``made`` knows replaced by the real id, at any depth."""
    if isinstance(value, str):
        return made.get(value, value)
    if isinstance(value, list):
        return [substitute(v, made) for v in value]
    if isinstance(value, tuple):
        return tuple(substitute(v, made) for v in value)
    if isinstance(value, dict):
        return dict((k, substitute(v, made)) for k, v in value.items())
    return value


def dig(answer, path):
    for key in path:
        answer = answer[key]
    return answer


def retrying_client(module, service, extra_codes=None, retries=10, delay=1, max_delay=30, region=None):
    """A client whose calls made with ``aws_retry=True`` retry throttling and 5xx with jittered backoff (and the
    eventual-consistency "not found" codes in ``extra_codes``)."""
    decorator = AWSRetry.jittered_backoff(retries=retries, delay=delay, max_delay=max_delay,
                                          catch_extra_error_codes=list(extra_codes or []))
    if region:
        return module.client(service, retry_decorator=decorator, region=region)
    return module.client(service, retry_decorator=decorator)


def error_code(e):
    return e.response.get("Error", {}).get("Code", "") if hasattr(e, "response") else ""


def aws_call(module, client, what, method, done=None, **kwargs):
    """``client.method(**kwargs)`` retried; a failure says "Could not <what>" with the AWS error and, during
    `apply`, the actions already done."""
    try:
        return getattr(client, method)(aws_retry=True, **kwargs)
    except AWS_ERRORS as e:
        extra = {"actions_done": list(done)} if done is not None else {}
        module.fail_json_aws(e, msg="Could not %s" % what, **extra)


def aws_read(module, client, what, method, missing=(), **kwargs):
    """A read that answers None when AWS says the thing does not exist (one of the ``missing`` error codes)."""
    try:
        return getattr(client, method)(aws_retry=True, **kwargs)
    except botocore.exceptions.ClientError as e:
        if error_code(e) in missing:
            return None
        module.fail_json_aws(e, msg="Could not %s" % what)
    except AWS_ERRORS as e:
        module.fail_json_aws(e, msg="Could not %s" % what)


def aws_pages(module, client, what, method, key, token="NextToken", next_token=None, **kwargs):
    """Every item under ``key`` across the pages of a list/describe call (``next_token``: the answer's name for
    the token, when it differs from the request's)."""
    items, marker = [], None
    while True:
        page = aws_call(module, client, what, method, **(dict(kwargs, **{token: marker}) if marker else kwargs))
        items.extend(page.get(key) or [])
        marker = page.get(next_token or token)
        if not marker:
            return items


def refuse(module, name, plan):
    """Stop before any write when the plan has problems (naming every one); otherwise pass on its warnings."""
    if plan.problems:
        module.fail_json(msg="%s: %s (nothing was changed)" % (name, "; ".join(plan.problems)),
                         problems=plan.problems, actions=plan.actions)
    for warning in plan.warnings:
        module.warn(warning)


def apply(module, plan, clients=None, handlers=None):
    """Makes the plan's steps in order (none in check mode) and returns ``real``, the function that turns a
    placeholder into the id it became (in check mode: the placeholder itself). A step whose ``op`` is in
    ``handlers`` runs ``handlers[op](step, real)``; any other is the API call it names. A failure names the
    actions already done, so a person knows what the next run will find."""
    made = {}

    def real(value):
        return substitute(value, made)

    if module.check_mode:
        return real
    done = []
    for step in plan.steps:
        handler = (handlers or {}).get(step["op"])
        if handler is not None:
            result = handler(step, real)
        else:
            answer = aws_call(module, clients[step["service"]], step["failure"], step["op"], done=done,
                              **real(step["kwargs"]))
            result = dig(answer, step["pick"]) if step.get("pick") else answer
        if step.get("out"):
            made[step["out"]] = result
        done.extend(step["texts"])
    return real


def finish(module, plan, diff=None, **outputs):
    """The result every module returns: changed when there was anything to do, the actions lines, the diff."""
    result = dict(outputs, changed=plan.changed, actions=plan.actions)
    if diff is not None:
        result["diff"] = diff
    module.exit_json(**result)
