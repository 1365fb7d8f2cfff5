"""Renders through Tiny Timbre's VST3 in pedalboard (JUCE's VST3 hosting, from PyPI), as a
second, real host. Called by real_host.rs, which checks the files this writes.

usage: real_host.py BUNDLE INPUT.f32 OUT_DIR RATE

INPUT is mono float32 (little-endian). Writes float32 files to OUT_DIR, channels one after
the other:
  fresh.f32      a fresh instance, stereo in, reverb 40%, auto-adjust off (so the line stays in
                 the input's octave; pedalboard compensates the latency)
  again.f32      the same instance after pedalboard's reset
  second.f32     a second instance
  played_on.f32  the second instance played on without a reset through 5 s of silence, then
                 the input again (pedalboard does not compensate the latency here)
  mono.f32       a third instance on a mono track (one channel in, one out)
"""

import sys

import numpy as np
from pedalboard import load_plugin

bundle, input_path, out_dir, rate = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
mono_in = np.fromfile(input_path, dtype="<f4")
stereo_in = np.stack([mono_in, mono_in])


def instance():
    fx = load_plugin(bundle, plugin_name="Tiny Timbre")
    fx.reverb = 40.0
    # A fresh instance starts with the default model's auto-adjust on, which may move the
    # line to the violin's register; the checks compare the output's pitch with the input's.
    fx.auto_adjust = False
    return fx


def save(name, audio):
    np.asarray(audio, dtype="<f4").tofile(f"{out_dir}/{name}.f32")


first = instance()
save("fresh", first(stereo_in, rate, buffer_size=512, reset=True))
save("again", first(stereo_in, rate, buffer_size=256, reset=True))
second = instance()
save("second", second(stereo_in, rate, buffer_size=1024, reset=True))
second(np.zeros((2, int(5 * rate)), dtype=np.float32), rate, buffer_size=512, reset=False)
save("played_on", second(stereo_in, rate, buffer_size=512, reset=False))
save("mono", instance()(mono_in[None, :], rate, buffer_size=512, reset=True))
