"""Length-prefixed frames between the kernel and the Node session.

The layout is the one of src/hosts/stdio/frames.ts (all integers unsigned
32-bit big-endian)::

    total | header_length | buffer_count | buffer_length * count | header (UTF-8 JSON) | buffers

``total`` counts the bytes after itself, so a frame can be bounded before it
is read and a bad one skipped without losing the stream's place. Buffers are
raw bytes: preview images cross the pipe as they are, never as base64.
"""
import json
import struct

MAX_FRAME_BYTES = 64 * 1024 * 1024
MAX_BUFFERS = 64
STREAM_BROKEN_BYTES = 1024 * 1024 * 1024


class FrameError(ValueError):
    """A frame that cannot be encoded or decoded (the reason is the message)."""


class StreamBroken(Exception):
    """The byte stream cannot be framed any more."""


def encode(header, buffers=()):
    try:
        body = json.dumps(header, allow_nan=False, separators=(",", ":")).encode("utf-8")
    except (TypeError, ValueError) as err:
        raise FrameError("header is not JSON: %s" % err)
    bufs = [bytes(b) if not isinstance(b, (bytes, bytearray)) else b for b in buffers]
    if len(bufs) > MAX_BUFFERS:
        raise FrameError("%d buffers (at most %d)" % (len(bufs), MAX_BUFFERS))
    fixed = 4 * (3 + len(bufs))
    total = fixed - 4 + len(body) + sum(len(b) for b in bufs)
    if total > MAX_FRAME_BYTES:
        raise FrameError("frame of %d bytes (at most %d)" % (total, MAX_FRAME_BYTES))
    head = struct.pack(">III", total, len(body), len(bufs)) + b"".join(struct.pack(">I", len(b)) for b in bufs)
    return b"".join([head, body] + bufs)


def decode_body(body):
    """The (header, buffers) of one frame's body; FrameError says why not."""
    if len(body) < 8:
        raise FrameError("frame of %d bytes is too short" % len(body))
    header_length, count = struct.unpack_from(">II", body, 0)
    if count > MAX_BUFFERS:
        raise FrameError("frame claims %d buffers" % count)
    offset = 8 + 4 * count
    if offset > len(body):
        raise FrameError("frame ends inside its buffer lengths")
    lengths = list(struct.unpack_from(">%dI" % count, body, 8)) if count else []
    expected = offset + header_length + sum(lengths)
    if expected != len(body):
        raise FrameError("frame lengths add up to %d bytes, not %d" % (expected, len(body)))
    try:
        header = json.loads(body[offset:offset + header_length].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise FrameError("frame header is not JSON (%s)" % str(err)[:100])
    if not isinstance(header, dict):
        raise FrameError("frame header is not a JSON object")
    offset += header_length
    buffers = []
    for n in lengths:
        buffers.append(body[offset:offset + n])
        offset += n
    return header, buffers


def _read_exactly(stream, n):
    chunks = []
    while n > 0:
        chunk = stream.read(n)
        if not chunk:
            return None
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def read_frames(stream, on_dropped, max_bytes=MAX_FRAME_BYTES):
    """Yields (header, buffers) until the stream ends; drops bad frames (reported to on_dropped)."""
    while True:
        prefix = _read_exactly(stream, 4)
        if prefix is None:
            return
        (total,) = struct.unpack(">I", prefix)
        if total > STREAM_BROKEN_BYTES:
            raise StreamBroken("length prefix of %d bytes: not a frame stream" % total)
        if total > max_bytes:
            on_dropped("frame of %d bytes is over the %d-byte limit" % (total, max_bytes))
            left = total
            while left > 0:
                chunk = stream.read(min(left, 1 << 20))
                if not chunk:
                    return
                left -= len(chunk)
            continue
        body = _read_exactly(stream, total)
        if body is None:
            return
        try:
            yield decode_body(body)
        except FrameError as err:
            on_dropped(str(err))
