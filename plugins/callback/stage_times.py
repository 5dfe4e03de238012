# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: stage_times
type: aggregate
short_description: Print how long each play (each stage of the one-command launch) took
version_added: 0.10.0
description:
  - At the end of a run, one line per play with its wall-clock seconds and its share of the run, then the total - the
    figure C(make sandbox) prints for each stage of C(playbooks/launch.yml) (build, drill, validate, cutover, proof).
  - Enable it beside the default output with C(ANSIBLE_CALLBACKS_ENABLED=directfanz.launch.stage_times).
author: DirectFanz platform team (@directfanz)
requirements:
  - enabled in the configuration (callbacks_enabled)
"""

import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "directfanz.launch.stage_times"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super(CallbackModule, self).__init__()
        self.started = time.monotonic()
        self.stages = []  # [name, start, end]

    def _close(self, now):
        if self.stages and self.stages[-1][2] is None:
            self.stages[-1][2] = now

    def v2_playbook_on_play_start(self, play):
        now = time.monotonic()
        self._close(now)
        self.stages.append([play.get_name().strip() or "(unnamed play)", now, None])

    def v2_playbook_on_stats(self, stats):
        now = time.monotonic()
        self._close(now)
        total = now - self.started
        self._display.banner("STAGE TIMES")
        for name, start, end in self.stages:
            took = end - start
            self._display.display("%7.1f s %5.1f %%  %s" % (took, 100.0 * took / total if total else 0.0, name))
        self._display.display("%7.1f s         total" % total)
