#include "jitter_buffer.h"

#include <algorithm>

namespace artalk {
namespace {
constexpr double kEps = 1e-9;
}

JitterBuffer::JitterBuffer(JitterBufferOptions options) { reset(options); }

void JitterBuffer::reset(JitterBufferOptions options) {
  options_ = options;
  if (options_.fps <= 0) options_.fps = 25;
  times_.clear();
  values_.clear();
  newest_pushed_ = -1e300;
  expected_until_ = 0.0;
  last_playback_ = -1e300;
  dead_from_ = dead_until_ = 0.0;
  frames_late_ = samples_late_ = 0;
}

bool JitterBuffer::in_dead_span(double t) const { return t > dead_from_ + kEps && t < dead_until_ - kEps; }

bool JitterBuffer::push(double time_code, const float* values) {
  if (time_code <= newest_pushed_ + kEps || in_dead_span(time_code)) return false;
  newest_pushed_ = time_code;
  if (time_code < last_playback_) ++frames_late_;  // the engine already played past it
  times_.push_back(time_code);
  values_.insert(values_.end(), values, values + options_.channels);
  prune();
  return true;
}

void JitterBuffer::set_expected_until(double time_code) { expected_until_ = std::max(expected_until_, time_code); }

void JitterBuffer::cut(double from, double until) {
  while (!times_.empty() && times_.back() > from + kEps) {
    times_.pop_back();
    values_.resize(values_.size() - static_cast<std::size_t>(options_.channels));
  }
  dead_from_ = from;
  dead_until_ = until;
  newest_pushed_ = std::max(newest_pushed_, from);
}

void JitterBuffer::prune() {
  const std::size_t c = static_cast<std::size_t>(options_.channels);
  auto drop_front = [&] {
    times_.pop_front();
    values_.erase(values_.begin(), values_.begin() + static_cast<std::ptrdiff_t>(c));
  };
  // Keep the frame just before the playback window so interpolation always has a left neighbour.
  while (times_.size() > 2 && times_[1] < last_playback_ - options_.keep_seconds) drop_front();
  while (times_.size() > 2 && times_.back() - times_.front() > options_.max_buffer_seconds) drop_front();
}

void JitterBuffer::copy_frame(std::size_t index, float* out) const {
  const std::size_t c = static_cast<std::size_t>(options_.channels);
  std::copy(values_.begin() + static_cast<std::ptrdiff_t>(index * c),
            values_.begin() + static_cast<std::ptrdiff_t>((index + 1) * c), out);
}

void JitterBuffer::release_from(std::size_t index, double t, float* out) const {
  const double period = 1.0 / options_.fps;
  const double since = t - (times_[index] + period);
  double keep = options_.release_seconds > 0 ? 1.0 - since / options_.release_seconds : 0.0;
  keep = std::clamp(keep, 0.0, 1.0);
  copy_frame(index, out);
  for (int k = 0; k < options_.channels; ++k) out[k] = static_cast<float>(out[k] * keep);
}

SampleStatus JitterBuffer::sample(double t, float* out) {
  last_playback_ = t;
  prune();
  const double period = 1.0 / options_.fps;
  const bool expected = t < expected_until_ - kEps && !in_dead_span(t);
  if (times_.empty()) {
    std::fill(out, out + options_.channels, 0.0f);
    if (expected && t >= 0) {
      ++samples_late_;
      return SampleStatus::kLate;
    }
    return SampleStatus::kIdle;
  }
  const std::size_t n = times_.size();
  const std::size_t j = static_cast<std::size_t>(std::upper_bound(times_.begin(), times_.end(), t) - times_.begin());
  if (j == 0) {  // before the first buffered frame
    if (times_[0] - t <= period + kEps) {
      copy_frame(0, out);
      return SampleStatus::kOk;
    }
    std::fill(out, out + options_.channels, 0.0f);
    return SampleStatus::kIdle;
  }
  const std::size_t i = j - 1;
  if (j < n && times_[j] - times_[i] <= 1.5 * period + kEps) {  // neighbours on one frame grid
    const double w = (t - times_[i]) / (times_[j] - times_[i]);
    const std::size_t c = static_cast<std::size_t>(options_.channels);
    for (std::size_t k = 0; k < c; ++k) {
      const float a = values_[i * c + k], b = values_[j * c + k];
      out[k] = static_cast<float>(a + (b - a) * w);
    }
    return SampleStatus::kOk;
  }
  if (t - times_[i] <= period + kEps) {  // a frame covers one period after its time code
    copy_frame(i, out);
    return SampleStatus::kOk;
  }
  if (j == n && expected) {  // the next frame is due but has not arrived
    copy_frame(i, out);
    ++samples_late_;
    return SampleStatus::kLate;
  }
  release_from(i, t, out);  // a gap: end of an utterance, a cancel, or no audio for this time
  return SampleStatus::kIdle;
}

}  // namespace artalk
