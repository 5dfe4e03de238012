# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  api_token:
    description:
      - Hostinger API token (hPanel -> Account -> API). Never logged.
      - Defaults to the E(HOSTINGER_API_TOKEN) environment variable.
    type: str
  api_url:
    description:
      - Base URL of the Hostinger API. Defaults to E(HOSTINGER_API_URL), else C(https://developers.hostinger.com).
    type: str
  rate_limit_max_wait:
    description:
      - When Hostinger answers 429, wait its C(Retry-After) as long as the total wait stays within this many
        seconds; otherwise fail, naming the wait asked for.
    type: int
    default: 60
  request_timeout:
    description: Seconds to wait for each HTTP answer.
    type: float
    default: 20
  retries:
    description: Extra attempts after a 5xx answer, a timeout or a refused connection (with backoff).
    type: int
    default: 4
"""
