// Jitter buffer of animation frames keyed by time code, sampled at any audio
// playback time. Pure C++17, no gRPC: the session feeds it, the engine samples it.
//
// Frames arrive in strictly increasing time-code order (the contract says so)
// from a network thread; the engine samples from its game thread. The class
// itself is not thread-safe: the session guards it with its own mutex.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

namespace artalk {

// What a sample produced, and why (mirrors artalk_sample_status in artalk_client.h).
enum class SampleStatus : int {
  kOk = 0,    // interpolated between two received frames (or held within a frame period)
  kLate = 1,  // audio for this time was sent but its frame has not arrived: the newest frame is held
  kIdle = 2,  // no animation for this time (before any frame, after an utterance, in a cancelled span):
              // the values release from the last frame towards rest (0)
};

struct JitterBufferOptions {
  int channels = 0;
  int fps = 25;
  double keep_seconds = 2.0;        // frames older than the last playback time by this much are dropped
  double release_seconds = 0.15;    // fade from the last frame to rest after an utterance ends
  double max_buffer_seconds = 600;  // hard cap on buffered span when nothing samples (oldest dropped)
};

class JitterBuffer {
 public:
  explicit JitterBuffer(JitterBufferOptions options = {});

  void reset(JitterBufferOptions options);
  const JitterBufferOptions& options() const { return options_; }

  // Add a frame; `values` has options().channels floats. Returns false (and
  // keeps nothing) when the time code does not increase past the newest frame
  // or falls in a cancelled span.
  bool push(double time_code, const float* values);

  // Audio up to this time has been sent: a missing frame before it is late.
  void set_expected_until(double time_code);

  // Barge-in: drop frames after `from`, and treat [from, until) as silent
  // (frames that still arrive for it are dropped, sampling there releases to rest).
  void cut(double from, double until);

  // Values for playback time `t` into `out` (options().channels floats).
  SampleStatus sample(double t, float* out);

  // A frame that arrived after the playback clock had already passed it.
  std::int64_t frames_late() const { return frames_late_; }
  // sample() calls that had to hold because a frame was late.
  std::int64_t samples_late() const { return samples_late_; }
  std::size_t size() const { return times_.size(); }
  double newest_time() const { return times_.empty() ? -1.0 : times_.back(); }
  double last_playback_time() const { return last_playback_; }

 private:
  void prune();
  void release_from(std::size_t index, double t, float* out) const;
  void copy_frame(std::size_t index, float* out) const;
  bool in_dead_span(double t) const;

  JitterBufferOptions options_;
  std::deque<double> times_;
  std::deque<float> values_;  // row-major, channels per frame
  double newest_pushed_ = -1e300;
  double expected_until_ = 0.0;
  double last_playback_ = -1e300;
  double dead_from_ = 0.0, dead_until_ = 0.0;  // the latest cancelled span
  std::int64_t frames_late_ = 0;
  std::int64_t samples_late_ = 0;
};

}  // namespace artalk
