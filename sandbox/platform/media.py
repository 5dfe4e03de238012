"""The stream service (live HLS with a sliding window, VOD) and the ws service (a WebSocket echo).

The segments are real: ffmpeg (Debian) encodes a few seconds of a test pattern and tone at 320x180 once at startup
into ~1 s MPEG-TS segments (well under a second of work), and the live playlist loops them - its media sequence
follows wall time, so a player (or the streaming check) sees a live stream advance, and with the ``live_stalled``
fault sees it freeze, as a stuck packager would look.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import shutil
import time
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

from sandbox.platform.faults import Faults

SEGMENTS = 6           # seconds of source, one segment each
WINDOW = 4             # segments in the live playlist
SEGMENT_SECONDS = 1.0  # wall time per live segment
NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
PLAYLIST = "application/vnd.apple.mpegurl"
CODECS = "avc1.42c01e,mp4a.40.2"  # constrained baseline level 3.0, AAC-LC (what the ffmpeg command sets)


class Segments:
    """The encoded segments: bytes and durations, made once."""

    def __init__(self, directory: Path):
        self.dir = directory
        self.data: list[bytes] = []
        self.durations: list[float] = []
        self.made_in = 0.0

    async def make(self) -> None:
        ffmpeg = shutil.which("ffmpeg")
        if not ffmpeg:
            raise RuntimeError("ffmpeg is not installed (Debian package ffmpeg; tools/install_system_deps.sh)")
        self.dir.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        cmd = [ffmpeg, "-hide_banner", "-loglevel", "error", "-y",
               "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=24",
               "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
               "-t", str(SEGMENTS), "-c:v", "libx264", "-preset", "ultrafast", "-profile:v", "baseline",
               "-level", "3.0", "-pix_fmt", "yuv420p", "-g", "24", "-keyint_min", "24", "-sc_threshold", "0",
               "-c:a", "aac", "-b:a", "64k", "-threads", "1",
               "-f", "hls", "-hls_time", "1", "-hls_list_size", "0", "-hls_segment_type", "mpegts",
               "-hls_segment_filename", str(self.dir / "seg%d.ts"), str(self.dir / "source.m3u8")]
        proc = await asyncio.create_subprocess_exec(*cmd, stdout=asyncio.subprocess.PIPE,
                                                    stderr=asyncio.subprocess.PIPE)
        out, err = await proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError("ffmpeg failed (%s): %s" % (proc.returncode, err.decode(errors="replace")[-500:]))
        self.made_in = time.monotonic() - started
        durations, files = [], []
        for line in (self.dir / "source.m3u8").read_text().splitlines():
            if line.startswith("#EXTINF:"):
                durations.append(float(line[8:].split(",")[0]))
            elif line and not line.startswith("#"):
                files.append(line)
        self.durations = durations
        self.data = [(self.dir / f).read_bytes() for f in files]
        if not self.data or any(d[:1] != b"\x47" for d in self.data):
            raise RuntimeError("ffmpeg made no MPEG-TS segments in %s" % self.dir)

    @property
    def target(self) -> int:
        return max(1, math.ceil(max(self.durations)))

    def bandwidth(self) -> int:
        return int(max(len(d) * 8 / max(t, 0.1) for d, t in zip(self.data, self.durations, strict=True)))


def master(bandwidth: int, media: str) -> str:
    return ("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n"
            "#EXT-X-STREAM-INF:BANDWIDTH=%d,AVERAGE-BANDWIDTH=%d,RESOLUTION=320x180,FRAME-RATE=24.000,"
            "CODECS=\"%s\"\n%s\n" % (bandwidth, int(bandwidth * 0.8), CODECS, media))


class StreamService:
    """``/live/<stream>/master.m3u8`` (sliding window), ``/vod/<id>/master.m3u8`` (ends), their segments, /health."""

    def __init__(self, segments: Segments, faults: Faults):
        self.segments = segments
        self.faults = faults
        self.started = time.time() - WINDOW * SEGMENT_SECONDS  # a full window from the first request on

    def head(self) -> int:
        """The newest live segment's sequence number: wall time, or the moment the stall began."""
        now = self.faults.stalled_at or time.time()
        return int((now - self.started) / SEGMENT_SECONDS)

    def live_media(self) -> str:
        head = self.head()
        first = max(0, head - WINDOW + 1)
        n = len(self.segments.data)
        lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:%d" % self.segments.target,
                 "#EXT-X-MEDIA-SEQUENCE:%d" % first, "#EXT-X-DISCONTINUITY-SEQUENCE:%d" % (first // n)]
        for seq in range(first, head + 1):
            if seq % n == 0 and seq > first:
                lines.append("#EXT-X-DISCONTINUITY")  # the loop starts again: timestamps jump back
            lines += ["#EXTINF:%.3f," % self.segments.durations[seq % n], "seg/%d.ts" % seq]
        return "\n".join(lines) + "\n"

    def vod_media(self) -> str:
        lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:%d" % self.segments.target,
                 "#EXT-X-MEDIA-SEQUENCE:0", "#EXT-X-PLAYLIST-TYPE:VOD"]
        for i, d in enumerate(self.segments.durations):
            lines += ["#EXTINF:%.3f," % d, "seg/%d.ts" % i]
        return "\n".join(lines + ["#EXT-X-ENDLIST"]) + "\n"

    @web.middleware
    async def middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        started = time.monotonic()
        fault = self.faults.for_service("stream")
        if fault.get("slow_ms"):
            await asyncio.sleep(fault["slow_ms"] / 1000)
        if fault.get("down"):
            response: web.StreamResponse = web.json_response(
                {"status": "down", "service": "stream", "reason": "sandbox fault"}, status=503)
        else:
            try:
                response = await handler(request)
            except web.HTTPException as e:
                response = e
        response.headers.setdefault("Access-Control-Allow-Origin", "*")
        self.faults.note("stream", request.method, request.path, response.status, started)
        return response

    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "service": "stream", "segments": len(self.segments.data)})

    def _name(self, request: web.Request, key: str) -> str:
        value = request.match_info[key]
        if not NAME.match(value):
            raise web.HTTPNotFound(text="no such stream %r (names: letters, digits, - and _)" % value)
        return value

    async def live_master(self, request: web.Request) -> web.Response:
        self._name(request, "stream")
        return web.Response(text=master(self.segments.bandwidth(), "media.m3u8"), content_type=PLAYLIST,
                            headers={"Cache-Control": "max-age=1"})

    async def live_playlist(self, request: web.Request) -> web.Response:
        self._name(request, "stream")
        return web.Response(text=self.live_media(), content_type=PLAYLIST, headers={"Cache-Control": "max-age=1"})

    async def live_segment(self, request: web.Request) -> web.Response:
        self._name(request, "stream")
        seq = int(request.match_info["seq"])
        head = self.head()
        if not head - WINDOW * 3 <= seq <= head:
            raise web.HTTPNotFound(text="segment %d is outside the live window (newest %d)" % (seq, head))
        return self.segment(seq % len(self.segments.data))

    async def vod_master(self, request: web.Request) -> web.Response:
        self._name(request, "id")
        return web.Response(text=master(self.segments.bandwidth(), "index.m3u8"), content_type=PLAYLIST,
                            headers={"Cache-Control": "max-age=300"})

    async def vod_playlist(self, request: web.Request) -> web.Response:
        self._name(request, "id")
        return web.Response(text=self.vod_media(), content_type=PLAYLIST, headers={"Cache-Control": "max-age=300"})

    async def vod_segment(self, request: web.Request) -> web.Response:
        self._name(request, "id")
        index = int(request.match_info["seq"])
        if index >= len(self.segments.data):
            raise web.HTTPNotFound(text="segment %d does not exist (0-%d)" % (index, len(self.segments.data) - 1))
        return self.segment(index)

    def segment(self, index: int) -> web.Response:
        return web.Response(body=self.segments.data[index], content_type="video/mp2t",
                            headers={"Cache-Control": "public, max-age=3600"})

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self.middleware])
        app.router.add_get("/health", self.health)
        app.router.add_get("/live/{stream}/master.m3u8", self.live_master)
        app.router.add_get("/live/{stream}/media.m3u8", self.live_playlist)
        app.router.add_get(r"/live/{stream}/seg/{seq:\d{1,12}}.ts", self.live_segment)
        app.router.add_get("/vod/{id}/master.m3u8", self.vod_master)
        app.router.add_get("/vod/{id}/index.m3u8", self.vod_playlist)
        app.router.add_get(r"/vod/{id}/seg/{seq:\d{1,6}}.ts", self.vod_segment)
        return app


class WsService:
    """``/ws``: every JSON text message comes back as it was sent (a round trip); /health."""

    def __init__(self, faults: Faults):
        self.faults = faults

    async def health(self, request: web.Request) -> web.Response:
        started = time.monotonic()
        fault = self.faults.for_service("ws")
        if fault.get("slow_ms"):
            await asyncio.sleep(fault["slow_ms"] / 1000)
        status = 503 if fault.get("down") else 200
        self.faults.note("ws", "GET", request.path, status, started)
        return web.json_response({"status": "down" if status == 503 else "ok", "service": "ws"}, status=status)

    async def ws(self, request: web.Request) -> web.StreamResponse:
        started = time.monotonic()
        fault = self.faults.for_service("ws")
        if fault.get("slow_ms"):
            await asyncio.sleep(fault["slow_ms"] / 1000)
        if fault.get("down"):
            self.faults.note("ws", "GET", request.path, 503, started)
            return web.json_response({"status": "down", "service": "ws", "reason": "sandbox fault"}, status=503)
        if self.faults.flag("ws_drop_upgrade") or request.headers.get("Upgrade", "").lower() != "websocket":
            # what the app sees when a proxy drops Upgrade/Connection: a plain GET, answered without switching
            self.faults.note("ws", "GET", request.path, 400, started)
            return web.Response(status=400, text="this endpoint needs a WebSocket upgrade (Upgrade: websocket); "
                                                 "the request arrived without one")
        sock = web.WebSocketResponse(heartbeat=30)
        await sock.prepare(request)
        self.faults.note("ws", "GET", request.path, 101, started)
        async for msg in sock:
            if msg.type == WSMsgType.TEXT:
                slow = self.faults.for_service("ws").get("slow_ms")
                if slow:
                    await asyncio.sleep(slow / 1000)
                try:
                    json.loads(msg.data)
                except ValueError:
                    await sock.send_str(json.dumps({"error": "messages are JSON text; this was not JSON"}))
                    continue
                await sock.send_str(msg.data)
            elif msg.type == WSMsgType.ERROR:
                break
        return sock

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/health", self.health)
        app.router.add_get("/ws", self.ws)
        return app
