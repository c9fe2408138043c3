"""Runs one espeak-ng synthesis in a fresh process; used by engines/espeak.py.

espeak-ng keeps wave-generator state (pitch flutter, noise) across utterances in a
process, so the same request gives slightly different audio depending on what was
said before. A fresh process per utterance makes synthesis depend on the request alone.
Standard library only, so the process starts fast.

stdin: JSON {"text", "voice", "parameters": {id: value}}.
stdout: one JSON line {"rate", "events": [[sample, ipa], ...]}, then int16 PCM bytes.
"""

import ctypes
import json
import sys

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INIT_PHONEME_EVENTS_IPA = 0x0001 | 0x0002
_EVENT_LIST_TERMINATED, _EVENT_MSG_TERMINATED, _EVENT_PHONEME = 0, 6, 7
_CHARS_UTF8 = 1


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


_Callback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


def main() -> None:
    request = json.load(sys.stdin)
    lib = ctypes.CDLL("libespeak-ng.so.1")
    rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, None, _INIT_PHONEME_EVENTS_IPA)
    pcm, events = bytearray(), []

    def on_audio(wav, num_samples, evs) -> int:
        if num_samples > 0:
            pcm.extend(ctypes.string_at(wav, 2 * num_samples))
        i = 0
        while evs[i].type != _EVENT_LIST_TERMINATED:
            e = evs[i]
            if e.type == _EVENT_PHONEME:
                events.append([e.sample, e.id.string.decode("utf-8", "replace")])
            elif e.type == _EVENT_MSG_TERMINATED:
                events.append([e.sample, ""])
            i += 1
        return 0

    callback = _Callback(on_audio)
    lib.espeak_SetSynthCallback(callback)
    if lib.espeak_SetVoiceByName(request["voice"].encode()) != 0:
        sys.exit(f"espeak-ng has no voice {request['voice']!r}")
    for key, value in request["parameters"].items():  # after the voice, which resets them
        lib.espeak_SetParameter(int(key), int(value), 0)
    data = request["text"].encode("utf-8")
    lib.espeak_Synth(data, len(data) + 1, 0, 0, 0, _CHARS_UTF8, None, None)
    lib.espeak_Synchronize()
    sys.stdout.buffer.write(json.dumps({"rate": rate, "events": events}).encode() + b"\n")
    sys.stdout.buffer.write(bytes(pcm))


if __name__ == "__main__":
    main()
