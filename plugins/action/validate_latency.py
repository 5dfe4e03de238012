# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Progress for validate_latency: a load run lasts duration x groups seconds (or duration, groups at once) and a
module cannot print while it runs, so the module appends a line per group to a progress file as each finishes
(p50/p95/p99, requests, errors, pass/fail) and this prints them as they come (plugin_utils/progress.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.directfanz.launch.plugins.plugin_utils.progress import ProgressAction


class ActionModule(ProgressAction):
    MODULE = "directfanz.launch.validate_latency"
