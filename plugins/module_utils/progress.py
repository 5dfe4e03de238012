# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The module's side of progress lines (plugins/plugin_utils/progress.py prints them while the module runs)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ProgressFile:
    """The module's side: ``say(line)`` appends one line (flushed at once) when a progress file was given."""

    def __init__(self, path):
        self.path = path

    def say(self, line):
        if not self.path:
            return
        with open(self.path, "a") as f:
            f.write(line.replace("\n", " ") + "\n")
