"""The Python half of the frame format, against a misbehaving Node process's output (run by tests/python-frames.test.ts)."""
import io
import struct
import sys
import unittest

sys.path.insert(0, sys.argv.pop(1) if len(sys.argv) > 1 else "python")
from modeldeck import _frames  # noqa: E402


class Frames(unittest.TestCase):
    def test_round_trip_with_raw_buffers(self):
        data = _frames.encode({"op": "x", "n": [1, 2]}, [b"\x00\xff\x10", b""])
        (header, buffers), = list(_frames.read_frames(io.BytesIO(data), self.fail))
        self.assertEqual(header, {"op": "x", "n": [1, 2]})
        self.assertEqual(buffers, [b"\x00\xff\x10", b""])

    def test_bad_frames_are_dropped_and_the_next_one_read(self):
        dropped = []
        not_json = struct.pack(">III", 11, 3, 0) + b"{{{"
        wrong_sum = struct.pack(">III", 12, 9, 0) + b"{}\x00\x00"
        not_object = struct.pack(">III", 10, 2, 0) + b"[]"
        huge = struct.pack(">I", 5000) + b"\x00" * 5000
        stream = io.BytesIO(not_json + wrong_sum + not_object + huge + _frames.encode({"op": "good"}))
        got = [h["op"] for h, _ in _frames.read_frames(stream, dropped.append, max_bytes=1000)]
        self.assertEqual(got, ["good"])
        self.assertEqual(len(dropped), 4)
        self.assertIn("not JSON", dropped[0])
        self.assertIn("over the 1000-byte limit", dropped[3])

    def test_garbage_stream_is_broken(self):
        with self.assertRaises(_frames.StreamBroken):
            list(_frames.read_frames(io.BytesIO(b"GET / HTTP/1.1\r\n"), lambda _: None))

    def test_a_truncated_stream_just_ends(self):
        data = _frames.encode({"op": "x"})
        self.assertEqual(list(_frames.read_frames(io.BytesIO(data[:-2]), self.fail)), [])

    def test_unencodable_headers_are_refused(self):
        with self.assertRaises(_frames.FrameError):
            _frames.encode({"x": float("nan")})
        with self.assertRaises(_frames.FrameError):
            _frames.encode({"op": "x"}, [b"\x00" * (_frames.MAX_FRAME_BYTES + 1)])


if __name__ == "__main__":
    unittest.main()
