#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: directfanz.launch contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: validate_streaming
short_description: Prove live and on-demand HLS play and the WebSocket service answers, through the edge
version_added: 0.7.0
description:
  - The streaming check of the validate phase (launch criterion 5.4), as a player would see it.
  - HLS (the C(m3u8) library) - each master playlist's variants are read; every media playlist must respect its
    target duration (each segment's EXTINF, rounded, at most EXT-X-TARGETDURATION - RFC 8216); the first
    O(segments) segments (and the EXT-X-MAP initialisation section) are fetched and their first bytes checked
    (MPEG-TS sync byte 0x47, or an ISO BMFF box for fMP4); a live playlist is read twice, a little more than a
    target duration apart, and its media sequence must have advanced (a stalled encoder fails); a VOD playlist
    must end with EXT-X-ENDLIST.
  - WebSocket (the C(websockets) library) - the handshake must answer 101 and a JSON message must come back
    (O(websocket_expect) - the same message, or any JSON) within O(timeout).
  - Every name resolves through O(resolvers); connections go to the resolved address with SNI/Host = the name.
author: DirectFanz platform team (@directfanz)
options:
  live_url:
    description: A live playlist (master or media), for example C(https://stream.example.com/live/main/master.m3u8).
    type: str
  vod_url:
    description: A VOD playlist (master or media).
    type: str
  websocket_url:
    description: The WebSocket endpoint, for example C(wss://ws.example.com/ws).
    type: str
  websocket_message:
    description: The JSON message sent; default C({"type" - "launch-probe", "nonce" - <random>}).
    type: dict
  websocket_expect:
    description: C(echo) - the reply must equal the message sent; C(json) - any JSON reply.
    type: str
    choices: [echo, json]
    default: echo
  resolvers:
    description: DNS resolvers (C(IP), C(IP:PORT), C([IPv6]:PORT)); empty - the system's resolver.
    type: list
    elements: raw
    default: []
  ca_file:
    description: CA bundle TLS is verified against; default the system store.
    type: path
  segments:
    description: How many segments of each media playlist to fetch (1-20).
    type: int
    default: 2
  live_wait:
    description: Seconds between the two reads of a live playlist; default 1.5 x its target duration.
    type: float
  timeout:
    description: Seconds each request (and the WebSocket handshake and reply) may take.
    type: float
    default: 10
attributes:
  check_mode:
    support: full
    description: Read-only; runs the same in check mode.
  diff_mode:
    support: none
    description: Changes nothing.
notes:
  - Requires m3u8, websockets, requests and dnspython on the host that runs it.
"""

EXAMPLES = r"""
- name: Play the live and VOD streams and round-trip a WebSocket message through the edge
  directfanz.launch.validate_streaming:
    live_url: https://stream.example.com/live/main/master.m3u8
    vod_url: https://stream.example.com/vod/intro/master.m3u8
    websocket_url: wss://ws.example.com/ws
    resolvers: "{{ launch_validate_resolvers }}"
"""

RETURN = r"""
cases:
  description: Suite C(streaming), criterion C(5.4) - C(hls live master), C(hls live media <n>), C(hls live
    advancing), C(hls vod ...), C(hls vod ended), C(websocket handshake), C(websocket round trip).
  returned: always
  type: list
  elements: dict
"""

import json
import secrets
import time
from urllib.parse import urlsplit

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.directfanz.launch.plugins.module_utils import validate_checks as C
from ansible_collections.directfanz.launch.plugins.module_utils import validate_net as N

try:
    import m3u8
    import requests
    import websockets.exceptions
    import websockets.sync.client
    HAS_LIBS = True
    LIBS_ERROR = None
except ImportError as exc:
    HAS_LIBS = False
    LIBS_ERROR = exc

SUITE = "streaming"
CRITERION = "5.4"
SNIFF_BYTES = 376  # two TS packets


def case(case_id, name, status, message="", evidence=None, measured=None, threshold=None, unit=None):
    return C.case(case_id, SUITE, CRITERION, name, status, measured=measured, threshold=threshold, unit=unit,
                  message=message, evidence=evidence)


class Fetcher:
    """GETs through the resolving session; every failure comes back as a message, never an exception."""

    def __init__(self, session, timeout):
        self.session, self.timeout = session, timeout

    def get(self, url, stream=False):
        try:
            response = self.session.get(url, timeout=self.timeout, stream=stream)
        except N.ResolutionError as exc:
            return None, str(exc)
        except requests.exceptions.Timeout:
            return None, "%s timed out after %s s" % (url, self.timeout)
        except requests.exceptions.RequestException as exc:
            return None, "%s: %s" % (url, N.error_text(exc))
        if response.status_code != 200:
            return None, "%s answered HTTP %d" % (url, response.status_code)
        return response, ""

    def playlist(self, url):
        response, problem = self.get(url)
        if response is None:
            return None, problem
        try:
            return m3u8.loads(response.text, uri=url), ""
        except Exception as exc:
            return None, "%s is not a playlist: %s" % (url, exc)

    def first_bytes(self, url):
        response, problem = self.get(url, stream=True)
        if response is None:
            return None, problem
        try:
            data = b""
            for chunk in response.iter_content(SNIFF_BYTES):
                data += chunk
                if len(data) >= SNIFF_BYTES:
                    break
            return data[:SNIFF_BYTES], ""
        except requests.exceptions.RequestException as exc:
            return None, "%s: %s" % (url, exc)
        finally:
            response.close()


def media_playlists(fetcher, kind, url):
    """(cases, [(label, url, playlist)]): the master's variants, or the URL itself when it is a media playlist."""
    top, problem = fetcher.playlist(url)
    if top is None:
        return [case("hls %s" % kind, "the %s playlist answers" % kind, "fail", problem, {"url": url})], []
    if not top.is_variant:
        return [], [("hls %s media" % kind, url, top)]
    variants = [v.absolute_uri for v in top.playlists]
    out, cases = [], []
    if not variants:
        return [case("hls %s master" % kind, "the %s master playlist lists variants" % kind, "fail",
                     "the master playlist lists no variant stream", {"url": url})], []
    cases.append(case("hls %s master" % kind, "the %s master playlist lists variants" % kind, "pass",
                      evidence={"url": url, "variants": variants}))
    for index, variant in enumerate(variants):
        label = "hls %s media %d" % (kind, index)
        playlist, problem = fetcher.playlist(variant)
        if playlist is None:
            cases.append(case(label, "the %s variant %d playlist answers" % (kind, index), "fail", problem,
                              {"url": variant}))
            continue
        if playlist.is_variant:
            cases.append(case(label, "the %s variant %d is a media playlist" % (kind, index), "fail",
                              "%s is a master playlist inside a master playlist" % variant, {"url": variant}))
            continue
        out.append((label, variant, playlist))
    return cases, out


def check_media(fetcher, kind, label, url, playlist, count):
    """The target duration rule and the first ``count`` segments' bytes (and the init section)."""
    target = playlist.target_duration
    durations = [s.duration for s in playlist.segments]
    problems = C.segment_duration_problems(target, durations)
    if not playlist.segments:
        problems.append("the playlist has no segment")
    fetched = []
    to_fetch = []
    init = playlist.segments[0].init_section if playlist.segments else None
    if init is not None and init.absolute_uri:
        to_fetch.append(("init", init.absolute_uri))
    for seg in playlist.segments[:count]:
        to_fetch.append(("segment", seg.absolute_uri))
    for role, seg_url in to_fetch:
        data, problem = fetcher.first_bytes(seg_url)
        if data is None:
            problems.append(problem)
            fetched.append({"url": seg_url, "error": problem})
            continue
        kind_found = C.segment_kind(data)
        fetched.append({"url": seg_url, "kind": kind_found, "first_bytes": data[:8].hex()})
        if role == "init" and kind_found != "fmp4":
            problems.append("the initialisation section %s does not start with an ISO BMFF box (first bytes %s)"
                            % (seg_url, data[:8].hex()))
        elif role == "segment" and kind_found is None:
            problems.append("segment %s is not MPEG-TS, fMP4 or packed audio (first bytes %s)"
                            % (seg_url, data[:8].hex() or "none"))
    evidence = {"url": url, "target_duration": target, "media_sequence": playlist.media_sequence,
                "durations": durations[:20], "segments": fetched}
    return case(label, "the %s playlist %s respects its target duration and serves media" % (kind, url),
                "fail" if problems else "pass", "; ".join(problems), evidence)


def check_live(fetcher, label, url, playlist, wait):
    target = playlist.target_duration or 0
    pause = wait if wait is not None else max(1.0, 1.5 * target)
    first = playlist.media_sequence
    time.sleep(pause)
    again, problem = fetcher.playlist(url)
    evidence = {"url": url, "first_sequence": first, "waited_s": pause, "target_duration": target}
    if again is None:
        return case(label, "the live playlist advances", "fail", problem, evidence)
    evidence["second_sequence"] = again.media_sequence
    if again.is_endlist:
        return case(label, "the live playlist advances", "fail", "the live playlist has EXT-X-ENDLIST: it ended",
                    evidence)
    problem = C.live_advance_problem(first, again.media_sequence, pause)
    return case(label, "the live playlist advances", "fail" if problem else "pass", problem, evidence,
                measured=(again.media_sequence or 0) - (first or 0), threshold="> 0")


def check_hls(fetcher, kind, url, count, wait):
    cases, medias = media_playlists(fetcher, kind, url)
    for label, media_url, playlist in medias:
        cases.append(check_media(fetcher, kind, label, media_url, playlist, count))
    if medias and kind == "live":
        label, media_url, playlist = medias[0]
        cases.append(check_live(fetcher, "hls live advancing", media_url, playlist, wait))
    if medias and kind == "vod":
        unended = [u for dummy, u, pl in medias if not pl.is_endlist]
        cases.append(case("hls vod ended", "the VOD playlists end (EXT-X-ENDLIST)", "fail" if unended else "pass",
                          "no EXT-X-ENDLIST in %s: a player treats it as live" % ", ".join(unended) if unended
                          else "", {"playlists": [u for dummy, u, pl in medias]}))
    return cases


def check_websocket(p, resolver):
    """The handshake and a round trip. A handshake that times out (no answer at all, on a fresh connection) is tried
    once more: one lost packet or a proxy reloading should not fail a launch, a dead path fails twice. Both attempts
    are in the evidence; an answer that is not 101 is never retried."""
    cases = _websocket_once(p, resolver)
    if cases[0]["status"] == "fail" and "timed out" in cases[0]["message"]:
        first = cases[0]["message"]
        time.sleep(1)
        cases = _websocket_once(p, resolver)
        for c in cases:
            c["evidence"] = dict(c.get("evidence") or {}, earlier_attempt=first)
    return cases


def _websocket_once(p, resolver):
    url = p["websocket_url"]
    parts = urlsplit(url)
    secure = parts.scheme == "wss"
    host, port = parts.hostname, parts.port or (443 if secure else 80)
    message = p["websocket_message"] or {"type": "launch-probe", "nonce": secrets.token_hex(8)}
    evidence = {"url": url}
    handshake = "websocket handshake"
    try:
        sock = N.open_socket(resolver, host, port, p["timeout"])
    except (N.ResolutionError, OSError) as exc:
        text = "timed out after %s s" % p["timeout"] if "timed out" in str(exc) else str(exc)
        return [case(handshake, "the WebSocket handshake answers 101", "fail", text, evidence),
                case("websocket round trip", "a JSON message makes the round trip", "not_run",
                     "no connection", evidence)]
    kwargs = {"sock": sock, "open_timeout": p["timeout"], "close_timeout": 2}
    if secure:
        kwargs.update(ssl=N.tls_context(p["ca_file"]), server_hostname=host)
    started = time.monotonic()
    try:
        conn = websockets.sync.client.connect(url, **kwargs)
    except websockets.exceptions.InvalidStatus as exc:
        status = exc.response.status_code
        body = C.truncate((exc.response.body or b"").decode("utf-8", "replace"), 200)
        sock.close()
        return [case(handshake, "the WebSocket handshake answers 101", "fail",
                     "the handshake answered HTTP %d, not 101 Switching Protocols: the edge or a proxy did not pass "
                     "the Upgrade through" % status, dict(evidence, status=status, body=body), measured=status,
                     threshold=101),
                case("websocket round trip", "a JSON message makes the round trip", "not_run",
                     "the handshake failed", evidence)]
    except TimeoutError:
        sock.close()
        return [case(handshake, "the WebSocket handshake answers 101", "fail",
                     "timed out after %s s" % p["timeout"], evidence),
                case("websocket round trip", "a JSON message makes the round trip", "not_run",
                     "the handshake failed", evidence)]
    except (websockets.exceptions.WebSocketException, OSError) as exc:
        sock.close()
        return [case(handshake, "the WebSocket handshake answers 101", "fail", "handshake failed: %s" % exc,
                     evidence),
                case("websocket round trip", "a JSON message makes the round trip", "not_run",
                     "the handshake failed", evidence)]
    out = [case(handshake, "the WebSocket handshake answers 101", "pass",
                evidence=dict(evidence, status=101,
                              handshake_ms=round((time.monotonic() - started) * 1000, 1)), measured=101,
                threshold=101)]
    sent = json.dumps(message, sort_keys=True)
    started = time.monotonic()
    try:
        conn.send(sent)
        reply = conn.recv(timeout=p["timeout"])
    except TimeoutError:
        out.append(case("websocket round trip", "a JSON message makes the round trip", "fail",
                        "no reply: timed out after %s s" % p["timeout"], dict(evidence, sent=sent)))
        conn.close()
        return out
    except websockets.exceptions.WebSocketException as exc:
        out.append(case("websocket round trip", "a JSON message makes the round trip", "fail",
                        "the connection closed before a reply: %s" % exc, dict(evidence, sent=sent)))
        return out
    rtt = round((time.monotonic() - started) * 1000, 1)
    conn.close()
    text = reply if isinstance(reply, str) else reply.decode("utf-8", "replace")
    evidence = dict(evidence, sent=sent, received=C.truncate(text, 300), round_trip_ms=rtt)
    try:
        decoded = json.loads(text)
        problem = "" if p["websocket_expect"] == "json" or decoded == message else \
            "the reply is not the message sent (websocket_expect: echo)"
    except ValueError:
        problem = "the reply is not JSON"
    out.append(case("websocket round trip", "a JSON message makes the round trip", "fail" if problem else "pass",
                    problem, evidence, measured=rtt, unit="ms"))
    return out


def main():
    module = AnsibleModule(
        argument_spec=dict(
            live_url=dict(type="str"),
            vod_url=dict(type="str"),
            websocket_url=dict(type="str"),
            websocket_message=dict(type="dict"),
            websocket_expect=dict(type="str", choices=["echo", "json"], default="echo"),
            resolvers=dict(type="list", elements="raw", default=[]),
            ca_file=dict(type="path"),
            segments=dict(type="int", default=2),
            live_wait=dict(type="float"),
            timeout=dict(type="float", default=10),
        ),
        supports_check_mode=True,
    )
    p = module.params
    problems = []
    if not (p["live_url"] or p["vod_url"] or p["websocket_url"]):
        problems.append("give at least one of live_url, vod_url, websocket_url")
    for key in ("live_url", "vod_url"):
        if p[key] and N.url_problem(p[key]):
            problems.append("%s %s" % (key, N.url_problem(p[key])))
    if p["websocket_url"] and N.url_problem(p["websocket_url"], ("ws", "wss")):
        problems.append("websocket_url %s" % N.url_problem(p["websocket_url"], ("ws", "wss")))
    problems += N.resolver_problems(p["resolvers"])
    if not 1 <= p["segments"] <= 20:
        problems.append("segments %s must be between 1 and 20" % p["segments"])
    if p["live_wait"] is not None and not 0 < p["live_wait"] <= 120:
        problems.append("live_wait %s must be between 0 and 120 seconds" % p["live_wait"])
    if not 0 < p["timeout"] <= 120:
        problems.append("timeout %s must be between 0 and 120 seconds" % p["timeout"])
    if problems:
        module.fail_json(msg="; ".join(problems))
    if not HAS_LIBS:
        module.fail_json(msg=missing_required_lib("m3u8, websockets and requests"), exception=str(LIBS_ERROR))
    resolver = N.NameResolver(p["resolvers"], timeout=min(p["timeout"], 5))
    fetcher = Fetcher(N.session(resolver, p["ca_file"]), p["timeout"])
    cases = []
    if p["live_url"]:
        cases += check_hls(fetcher, "live", p["live_url"], p["segments"], p["live_wait"])
    if p["vod_url"]:
        cases += check_hls(fetcher, "vod", p["vod_url"], p["segments"], None)
    if p["websocket_url"]:
        cases += check_websocket(p, resolver)
    module.exit_json(changed=False, cases=C.unique_ids(cases))


if __name__ == "__main__":
    main()
