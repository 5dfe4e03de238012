# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Progress lines from a long module run. A module cannot print while it runs, so the action plugin gives it a
``progress_file`` (on the controller, where the validate checks run), runs it in a thread and prints each line the
module appends as it comes. On any other connection the module runs as is, without progress."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import tempfile
import threading

from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

display = Display()
POLL = 1.0  # seconds between two reads of the progress file


def _new_lines(path, offset):
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read()
    except OSError:
        return [], offset
    complete = data.rfind(b"\n") + 1  # a line still being written waits for the next read
    text = data[:complete].decode("utf-8", "replace")
    return [line for line in text.splitlines() if line.strip()], offset + complete


def run_with_progress(action, module_name, module_args, task_vars):
    """``action._execute_module(...)`` with the module's progress lines printed as it runs (read every ``POLL``
    seconds). The module must accept ``progress_file`` (module_utils/progress.py writes it)."""
    if getattr(action._connection, "transport", None) != "local":
        return action._execute_module(module_name=module_name, module_args=module_args, task_vars=task_vars)
    scratch = tempfile.mkdtemp(prefix="launch-progress-")  # mode 0700: the lines are for this run only
    path = os.path.join(scratch, "progress")
    answer, raised = {}, []

    def call():
        try:
            answer.update(action._execute_module(module_name=module_name, module_args=dict(
                module_args, progress_file=path), task_vars=task_vars))
        except Exception as exc:  # the task fails with it, as it would have without the thread
            raised.append(exc)

    worker = threading.Thread(target=call, name="progress of %s" % module_name, daemon=True)
    offset = 0
    try:
        worker.start()
        while worker.is_alive():
            worker.join(POLL)
            lines, offset = _new_lines(path, offset)
            for line in lines:
                display.display(line)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if raised:
        raise raised[0]
    return answer


class ProgressAction(ActionBase):
    """An action plugin that runs ``MODULE`` once and prints its progress lines as they come."""

    MODULE = None

    def run(self, tmp=None, task_vars=None):
        result = super(ProgressAction, self).run(tmp, task_vars)
        result.update(run_with_progress(self, self.MODULE, dict(self._task.args), task_vars))
        return result
