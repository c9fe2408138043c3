// Tests of the native client core. Unit cases need nothing; live cases drive
// the shipped shared library's C ABI against a running artalk.v1 server.
//
//   artalk_core_tests [--server HOST:PORT] [--proxy HOST:PORT] [--wav SPEECH.wav]
//                     [--tls-ca PEM] [--tls-cert PEM --tls-key PEM] [--token TOKEN]
//                     [--case NAME]... [--list]
//
// --proxy is a TCP proxy in front of the same server that breaks its first
// connection mid-stream (tests/clients/breaking_proxy.py); the reconnect case needs it.
// --tls-* and --token are how live cases reach a secured server (TLS is on with
// --tls-ca or --tls-cert); the security cases need them where they say so.
// Prints one line per case and "N passed, N failed, N skipped" last; exits 1 on
// any failure.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "artalk_client.h"
#include "jitter_buffer.h"
#include "wav_reader.h"

namespace {

struct Failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct Skip : std::runtime_error {
  using std::runtime_error::runtime_error;
};

#define CHECK(cond, ...)                                                                       \
  do {                                                                                         \
    if (!(cond)) {                                                                             \
      std::ostringstream os_;                                                                  \
      os_ << __FILE__ << ":" << __LINE__ << ": CHECK(" #cond ") failed " << describe(__VA_ARGS__); \
      throw Failure(os_.str());                                                                \
    }                                                                                          \
  } while (0)

std::string describe() { return ""; }
template <typename... T>
std::string describe(const T&... parts) {
  std::ostringstream os;
  (os << ... << parts);
  return ": " + os.str();
}

struct Env {
  std::string server, proxy, wav_path;
  std::string tls_ca, tls_cert, tls_key, token;
  artalk_sample::Wav wav;
};
Env env;

double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string last_error(artalk_session* s) {
  char buf[1024];
  artalk_session_last_error(s, buf, sizeof buf);
  return buf;
}

// ------------------------------------------------------------------ helpers for live cases

struct Recorded {
  std::vector<std::string> names;
  int fps = 0;
  std::vector<double> times;
  std::vector<float> values;  // row-major
  std::vector<artalk_event> events;
  artalk_stats stats{};
  std::size_t channels() const { return names.size(); }
  std::vector<artalk_event> of_type(int type) const {
    std::vector<artalk_event> out;
    for (const auto& e : events)
      if (e.type == type) out.push_back(e);
    return out;
  }
};

void need_server() {
  if (env.server.empty() || env.wav.data.empty()) throw Skip("needs --server and --wav");
}

// Options for the test wav, without TLS or token.
artalk_config* plain_config(const std::string& target, int fps) {
  artalk_config* c = artalk_config_create(target.c_str());
  CHECK(artalk_config_set_audio_format(c, env.wav.encoding, env.wav.sample_rate_hz, env.wav.channels) == ARTALK_OK);
  CHECK(artalk_config_set_output_fps(c, fps) == ARTALK_OK);
  CHECK(artalk_config_set_record_frames(c, 1) == ARTALK_OK);
  CHECK(artalk_config_set_sampling(c, 3, 0.0f, 0.0f) == ARTALK_OK);
  CHECK(artalk_config_set_ids(c, "core-tests", "npc-1") == ARTALK_OK);
  return c;
}

// The same with the command line's TLS files and token.
artalk_config* live_config(const std::string& target, int fps) {
  artalk_config* c = plain_config(target, fps);
  if (!env.tls_ca.empty() || !env.tls_cert.empty())
    CHECK(artalk_config_set_tls(c, env.tls_ca.c_str(), env.tls_cert.c_str(), env.tls_key.c_str()) == ARTALK_OK);
  CHECK(artalk_config_set_token(c, env.token.c_str()) == ARTALK_OK);
  return c;
}

artalk_session* open_session(artalk_config* c) {
  char error[256];
  artalk_session* s = artalk_session_open(c, error, sizeof error);
  artalk_config_destroy(c);
  CHECK(s != nullptr, error);
  return s;
}

void drain(artalk_session* s, Recorded* r) {
  if (r->names.empty() && artalk_session_channel_count(s) > 0) {
    for (int k = 0; k < artalk_session_channel_count(s); ++k) {
      char name[128];
      artalk_session_channel_name(s, k, name, sizeof name);
      r->names.emplace_back(name);
    }
    r->fps = artalk_session_fps(s);
  }
  artalk_event e;
  while (artalk_session_poll_event(s, &e) == 1) r->events.push_back(e);
  if (r->names.empty()) return;
  const int c = static_cast<int>(r->channels());
  std::vector<double> t(64);
  std::vector<float> v(64 * r->channels());
  for (int n; (n = artalk_session_read_frames(s, t.data(), v.data(), 64, c)) > 0;) {
    r->times.insert(r->times.end(), t.begin(), t.begin() + n);
    r->values.insert(r->values.end(), v.begin(), v.begin() + static_cast<std::ptrdiff_t>(n) * c);
  }
}

// Push `bytes` of the test wav from `offset` in 100 ms pieces, `speed` times real time (0 = all at once).
void push_range(artalk_session* s, std::size_t offset, std::size_t bytes, double speed) {
  const std::size_t fb = static_cast<std::size_t>(env.wav.bytes_per_frame());
  const std::size_t piece = static_cast<std::size_t>(env.wav.sample_rate_hz / 10) * fb;
  for (std::size_t done = 0; done < bytes; done += piece) {
    const std::size_t n = std::min(piece, bytes - done);
    CHECK(artalk_session_push_audio(s, env.wav.data.data() + offset + done, n, nullptr) == ARTALK_OK, last_error(s));
    if (speed > 0) std::this_thread::sleep_for(std::chrono::duration<double>(0.1 / speed));
  }
}

Recorded finish(artalk_session* s, double timeout = 120.0) {
  Recorded r;
  CHECK(artalk_session_end(s) == ARTALK_OK);
  const int rc = artalk_session_wait_finished(s, timeout);
  drain(s, &r);
  artalk_session_get_stats(s, &r.stats);
  CHECK(rc == ARTALK_OK, "wait_finished ", rc, " ", last_error(s));
  CHECK(artalk_session_state(s) == ARTALK_STATE_FINISHED);
  return r;
}

// A session that must fail with `status_code` within `seconds`, without a reconnect attempt.
// Closes it and returns its error.
std::string expect_failure(artalk_session* s, int status_code, double seconds) {
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(artalk_session_wait_finished(s, seconds + 30) == ARTALK_ERR_FAILED, last_error(s));
  CHECK(since(t0) < seconds, "failed after ", since(t0), " s: ", last_error(s));
  Recorded r;
  drain(s, &r);
  artalk_session_get_stats(s, &r.stats);
  const std::string error = last_error(s);
  artalk_session_close(s);
  CHECK(r.stats.reconnects == 0 && r.of_type(ARTALK_EVENT_DISCONNECTED).empty(), "no reconnect attempt: ", error);
  const auto failed = r.of_type(ARTALK_EVENT_FAILED);
  CHECK(failed.size() == 1 && failed[0].status_code == status_code, "FAILED with status ", status_code, ": ", error);
  return error;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

void check_increasing(const Recorded& r) {
  for (std::size_t i = 1; i < r.times.size(); ++i)
    CHECK(r.times[i] > r.times[i - 1], "time codes must strictly increase at ", i, ": ", r.times[i - 1], " ", r.times[i]);
}

std::size_t expected_frames(std::int64_t samples, int fps) {
  return static_cast<std::size_t>((samples * fps + env.wav.sample_rate_hz - 1) / env.wav.sample_rate_hz);
}

// ------------------------------------------------------------------ unit cases

void test_jitter_interpolates() {
  artalk::JitterBuffer jb({2, 25, 2.0, 0.1, 600});
  const float f0[2] = {0.0f, 1.0f}, f1[2] = {1.0f, 0.0f}, f2[2] = {0.5f, 0.5f};
  CHECK(jb.push(0.00, f0) && jb.push(0.04, f1) && jb.push(0.08, f2));
  CHECK(!jb.push(0.08, f2), "a repeated time code is refused");
  float out[2];
  CHECK(jb.sample(0.02, out) == artalk::SampleStatus::kOk);
  CHECK(std::fabs(out[0] - 0.5f) < 1e-6 && std::fabs(out[1] - 0.5f) < 1e-6, out[0], " ", out[1]);
  CHECK(jb.sample(0.04, out) == artalk::SampleStatus::kOk && out[0] == 1.0f && out[1] == 0.0f);
  CHECK(jb.sample(0.07, out) == artalk::SampleStatus::kOk);
  CHECK(std::fabs(out[0] - 0.625f) < 1e-6, out[0]);
  CHECK(jb.sample(0.10, out) == artalk::SampleStatus::kOk && out[0] == 0.5f, "the last frame covers one period");
}

void test_jitter_late_and_release() {
  artalk::JitterBuffer jb({1, 25, 2.0, 0.2, 600});
  const float one = 1.0f;
  float out;
  jb.set_expected_until(1.0);
  CHECK(jb.sample(0.0, &out) == artalk::SampleStatus::kLate && out == 0.0f, "audio sent, no frame yet");
  CHECK(jb.push(0.0, &one) && jb.push(0.04, &one));
  CHECK(jb.frames_late() == 0, "nothing was played past them");
  CHECK(jb.sample(0.5, &out) == artalk::SampleStatus::kLate && out == 1.0f, "holds the newest frame");
  CHECK(jb.samples_late() == 2);
  CHECK(jb.push(0.08, &one) && jb.push(0.6, &one));
  CHECK(jb.frames_late() == 1, "0.08 arrived after playback passed it, 0.6 in time: ", jb.frames_late());
  // Past the audio that was sent: the utterance is over, release to rest over 0.2 s.
  CHECK(jb.sample(1.0 + 0.1, &out) == artalk::SampleStatus::kIdle);
  artalk::JitterBuffer jb2({1, 25, 2.0, 0.2, 600});
  CHECK(jb2.push(0.0, &one));
  CHECK(jb2.sample(0.04 + 0.1, &out) == artalk::SampleStatus::kIdle && std::fabs(out - 0.5f) < 1e-5, out);
  CHECK(jb2.sample(0.04 + 0.3, &out) == artalk::SampleStatus::kIdle && out == 0.0f, out);
}

void test_jitter_cut_and_gap() {
  artalk::JitterBuffer jb({1, 25, 2.0, 0.0, 600});
  float v, out;
  for (int i = 0; i <= 10; ++i) CHECK(jb.push(i * 0.04, &(v = static_cast<float>(i))));
  jb.set_expected_until(2.0);
  CHECK(jb.sample(0.2, &out) == artalk::SampleStatus::kOk && std::fabs(out - 5.0f) < 1e-5);
  jb.cut(0.2, 1.0);  // barge-in at playback 0.2; audio up to 1.0 was already sent
  CHECK(jb.size() == 6, "frames after the cut are dropped: ", jb.size());
  CHECK(!jb.push(0.6, &(v = 1.0f)), "a late frame of the cancelled utterance is refused");
  CHECK(jb.sample(0.5, &out) == artalk::SampleStatus::kIdle && out == 0.0f, "cancelled span releases to rest");
  CHECK(jb.push(1.0, &(v = 7.0f)) && jb.push(1.04, &(v = 8.0f)));
  CHECK(jb.sample(0.6, &out) == artalk::SampleStatus::kIdle, "no interpolation across the gap");
  CHECK(jb.sample(1.02, &out) == artalk::SampleStatus::kOk && std::fabs(out - 7.5f) < 1e-5, out);
}

void test_jitter_prunes_history() {
  artalk::JitterBuffer jb({1, 25, 0.5, 0.1, 600});
  float v = 0.0f, out;
  for (int i = 0; i < 250; ++i) jb.push(i * 0.04, &v);
  CHECK(jb.size() == 250);
  jb.sample(8.0, &out);  // keeps 7.5 s on (and one frame before), drops the rest of the past
  CHECK(jb.size() == 63, "history beyond keep_seconds is dropped: ", jb.size());
  CHECK(jb.sample(7.6, &out) == artalk::SampleStatus::kOk, "the kept history still samples");
  CHECK(jb.sample(5.0, &out) == artalk::SampleStatus::kIdle, "the dropped past is gone");
}

void test_abi_basics() {
  CHECK(artalk_abi_version() == ARTALK_ABI_VERSION);
  CHECK(std::strstr(artalk_version(), "artalk.v1") != nullptr);
  artalk_config* c = artalk_config_create("127.0.0.1:1");
  CHECK(c != nullptr);
  CHECK(artalk_config_set_output_fps(c, 121) == ARTALK_ERR_INVALID_ARGUMENT);
  CHECK(artalk_config_set_audio_format(c, 3, 16000, 1) == ARTALK_ERR_INVALID_ARGUMENT);
  CHECK(artalk_config_set_audio_format(c, ARTALK_ENCODING_FLOAT32_LE, 7999, 1) == ARTALK_ERR_INVALID_ARGUMENT);
  CHECK(artalk_config_set_sampling(c, 1, NAN, 0) == ARTALK_ERR_INVALID_ARGUMENT);
  CHECK(artalk_config_set_guidance(c, NAN) == ARTALK_ERR_INVALID_ARGUMENT);
  CHECK(artalk_config_set_guidance(c, 0.5f) == ARTALK_ERR_INVALID_ARGUMENT);
  CHECK(artalk_config_set_guidance(c, 5.0f) == ARTALK_ERR_INVALID_ARGUMENT);
  CHECK(artalk_config_set_guidance(c, 0.0f) == ARTALK_OK && artalk_config_set_guidance(c, 2.0f) == ARTALK_OK);
  CHECK(artalk_config_set_chunk_seconds(c, 11.0) == ARTALK_ERR_INVALID_ARGUMENT);
  CHECK(artalk_config_set_ids(c, std::string(129, 'x').c_str(), nullptr) == ARTALK_ERR_INVALID_ARGUMENT);
  CHECK(artalk_session_open(nullptr, nullptr, 0) == nullptr);
  CHECK(artalk_session_state(nullptr) == ARTALK_ERR_INVALID_ARGUMENT);
  artalk_session_close(nullptr);  // a no-op
  CHECK(sizeof(artalk_event) == 40 && sizeof(artalk_stats) == 112, "fixed layouts for FFI");
  artalk_config_destroy(c);
}

void test_unreachable_fails_fast_and_closes() {
  artalk_config* c = artalk_config_create("127.0.0.1:1");  // nothing listens on port 1
  artalk_config_set_reconnect(c, 1, 0.05, 0.3, 30);
  artalk_session* s = open_session(c);
  const float silence[160] = {};
  CHECK(artalk_session_push_audio(s, silence, 3, nullptr) == ARTALK_ERR_INVALID_ARGUMENT, "partial sample frame");
  CHECK(artalk_session_push_audio(s, silence, sizeof silence, nullptr) == ARTALK_OK, "queued while connecting");
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(artalk_session_wait_started(s, 10.0) == ARTALK_ERR_FAILED);
  CHECK(since(t0) < 5.0, "two connect attempts of 0.3 s: ", since(t0));
  CHECK(artalk_session_state(s) == ARTALK_STATE_FAILED);
  CHECK(last_error(s).find("UNAVAILABLE") != std::string::npos, last_error(s));
  CHECK(artalk_session_push_audio(s, silence, 320, nullptr) == ARTALK_ERR_FAILED);
  artalk_session_close(s);

  // Closing while connecting returns promptly.
  c = artalk_config_create("127.0.0.1:1");
  artalk_config_set_reconnect(c, 100, 1.0, 30.0, 30);
  s = open_session(c);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const auto t1 = std::chrono::steady_clock::now();
  artalk_session_close(s);
  CHECK(since(t1) < 1.0, "close while connecting took ", since(t1), " s");
}

void test_security_options() {
  artalk_config* c = artalk_config_create("127.0.0.1:1");
  CHECK(artalk_config_set_tls(c, nullptr, "client.pem", nullptr) == ARTALK_ERR_INVALID_ARGUMENT, "a cert needs its key");
  CHECK(artalk_config_set_tls(c, "", "", "client.key") == ARTALK_ERR_INVALID_ARGUMENT, "a key needs its cert");
  CHECK(artalk_config_set_token(c, "two words") == ARTALK_ERR_INVALID_ARGUMENT);
  CHECK(artalk_config_set_token(c, "tab\t") == ARTALK_ERR_INVALID_ARGUMENT);
  CHECK(artalk_config_set_token(c, std::string(4097, 'x').c_str()) == ARTALK_ERR_INVALID_ARGUMENT);
  CHECK(artalk_config_set_tls_server_name(c, "bad name") == ARTALK_ERR_INVALID_ARGUMENT);
  CHECK(artalk_config_set_token(c, nullptr) == ARTALK_OK && artalk_config_set_token(c, "s3cret-t0ken") == ARTALK_OK);
  // A server name without TLS is refused when the session opens.
  CHECK(artalk_config_set_tls_server_name(c, "localhost") == ARTALK_OK);
  char error[256];
  CHECK(artalk_session_open(c, error, sizeof error) == nullptr);
  CHECK(contains(error, "need TLS on"), error);
  // The files are read at open: a missing one, or one that is not PEM, is named there.
  CHECK(artalk_config_set_tls(c, "/nonexistent/ca.pem", nullptr, nullptr) == ARTALK_OK);
  CHECK(artalk_session_open(c, error, sizeof error) == nullptr);
  CHECK(contains(error, "cannot read the TLS CA file '/nonexistent/ca.pem'"), error);
  CHECK(!contains(error, "s3cret"), "the token never appears in an error");
  CHECK(artalk_config_set_tls(c, nullptr, "/dev/null", "/dev/null") == ARTALK_OK);
  CHECK(artalk_session_open(c, error, sizeof error) == nullptr);
  CHECK(contains(error, "TLS client certificate file '/dev/null' is not PEM"), error);
  artalk_config_destroy(c);
}

// ------------------------------------------------------------------ live cases

void test_live_frames() {
  need_server();
  artalk_session* s = open_session(live_config(env.server, 30));
  CHECK(artalk_session_wait_started(s, 60) == ARTALK_OK, last_error(s));
  CHECK(artalk_session_channel_count(s) == 61);
  CHECK(artalk_session_fps(s) == 30);
  CHECK(artalk_session_algorithmic_latency(s) > 0);
  char name[8];
  CHECK(artalk_session_channel_name(s, 0, name, sizeof name) == 12 && std::strcmp(name, "EyeBlin") == 0,
        "truncated copy-out returns the full length: ", name);
  CHECK(artalk_session_channel_is_rotation(s, 52) == 1 && artalk_session_channel_is_rotation(s, 0) == 0,
        "HeadYaw is a rotation");
  double tc = -1;
  CHECK(artalk_session_push_audio(s, env.wav.data.data(), env.wav.data.size(), &tc) == ARTALK_OK && tc == 0.0);
  CHECK(std::fabs(artalk_session_audio_time(s) - env.wav.seconds()) < 1e-9);
  Recorded r = finish(s);
  const std::size_t n = expected_frames(env.wav.frames(), 30);
  CHECK(r.names.size() == 61 && r.names[0] == "EyeBlinkLeft" && r.names[52] == "HeadYaw");
  CHECK(r.times.size() == n, "ceil(duration * fps) frames: ", r.times.size(), " vs ", n);
  for (std::size_t i = 0; i < r.times.size(); ++i)
    CHECK(std::fabs(r.times[i] - static_cast<double>(i) / 30.0) < 1e-6, "frame ", i, " at ", r.times[i]);
  auto started = r.of_type(ARTALK_EVENT_STARTED);
  auto utts = r.of_type(ARTALK_EVENT_UTTERANCE_FINISHED);
  CHECK(started.size() == 1 && r.of_type(ARTALK_EVENT_FINISHED).size() == 1);
  CHECK(utts.size() == 1 && utts[0].utterance_index == 0 && utts[0].frame_count == static_cast<int>(n) &&
        !utts[0].cancelled && std::fabs(utts[0].end_time - env.wav.seconds()) < 1e-6);
  CHECK(r.stats.frames_received == static_cast<std::int64_t>(n) && r.stats.reconnects == 0 && r.stats.utterances == 1);
  CHECK(r.stats.first_frame_latency_seconds > 0 && r.stats.latency_p50_seconds > 0 &&
        r.stats.latency_max_seconds >= r.stats.latency_p95_seconds);
  // The jitter buffer gives the received frames at their time codes, and blends between them.
  std::vector<float> out(61);
  const std::size_t k = n / 2;
  CHECK(artalk_session_sample(s, r.times[k], out.data(), 61) == ARTALK_SAMPLE_OK);
  for (int c = 0; c < 61; ++c) CHECK(std::fabs(out[c] - r.values[k * 61 + c]) < 1e-6, "channel ", c);
  CHECK(artalk_session_sample(s, (r.times[k] + r.times[k + 1]) / 2, out.data(), 61) == ARTALK_SAMPLE_OK);
  for (int c = 0; c < 61; ++c)
    CHECK(std::fabs(out[c] - 0.5f * (r.values[k * 61 + c] + r.values[(k + 1) * 61 + c])) < 1e-5, "channel ", c);
  CHECK(artalk_session_sample(s, env.wav.seconds() + 1.0, out.data(), 61) == ARTALK_SAMPLE_IDLE, "after the end");
  CHECK(artalk_session_sample(s, 0.0, out.data(), 60) == ARTALK_ERR_INVALID_ARGUMENT, "capacity too small");
  CHECK(artalk_session_push_audio(s, env.wav.data.data(), 2, nullptr) == ARTALK_ERR_STATE, "no audio after end");
  artalk_session_close(s);
}

void test_live_flush() {
  need_server();
  artalk_session* s = open_session(live_config(env.server, 25));
  const std::size_t fb = static_cast<std::size_t>(env.wav.bytes_per_frame());
  const std::size_t first = (env.wav.data.size() / fb / 2) * fb;  // whole sample frames
  push_range(s, 0, first, 0);
  CHECK(artalk_session_flush(s) == ARTALK_OK);
  double tc = -1;
  CHECK(artalk_session_push_audio(s, env.wav.data.data() + first, env.wav.data.size() - first, &tc) == ARTALK_OK);
  const double split = static_cast<double>(first / fb) / env.wav.sample_rate_hz;
  CHECK(std::fabs(tc - split) < 1e-9, "the second utterance starts where the first ended");
  CHECK(artalk_session_flush(s) == ARTALK_OK);
  Recorded r = finish(s);
  check_increasing(r);
  const auto utts = r.of_type(ARTALK_EVENT_UTTERANCE_FINISHED);
  const std::size_t n0 = expected_frames(static_cast<std::int64_t>(first / fb), 25);
  const std::size_t n1 = expected_frames(static_cast<std::int64_t>((env.wav.data.size() - first) / fb), 25);
  CHECK(utts.size() == 2, "two flushed utterances (end adds none): ", utts.size());
  CHECK(utts[0].utterance_index == 0 && utts[0].frame_count == static_cast<int>(n0) && !utts[0].cancelled);
  CHECK(utts[1].utterance_index == 1 && utts[1].frame_count == static_cast<int>(n1) && !utts[1].cancelled);
  CHECK(std::fabs(utts[1].start_time - split) < 1e-6 && std::fabs(utts[1].end_time - env.wav.seconds()) < 1e-6);
  CHECK(r.times.size() == n0 + n1, r.times.size(), " frames vs ", n0 + n1);
  CHECK(std::fabs(r.times[n0] - split) < 1e-6, "utterance 1 frame 0 at its start: ", r.times[n0]);
  artalk_session_close(s);
}

void test_live_cancel() {
  need_server();
  artalk_config* c = live_config(env.server, 25);
  artalk_config_set_jitter_buffer(c, 2.0, 0.0);
  artalk_session* s = open_session(c);
  const std::size_t fb = static_cast<std::size_t>(env.wav.bytes_per_frame());
  const std::size_t two_s = static_cast<std::size_t>(2 * env.wav.sample_rate_hz) * fb;
  CHECK(env.wav.data.size() > two_s + 16000, "the test wav must be longer than 2.5 s");
  push_range(s, 0, two_s, 0);
  artalk_stats st{};
  const auto t0 = std::chrono::steady_clock::now();
  while (artalk_session_get_stats(s, &st) == ARTALK_OK && st.newest_frame_time < 0.5 && since(t0) < 60)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(st.newest_frame_time >= 0.5, "frames of the first 0.5 s arrive");
  std::vector<float> face(61);
  CHECK(artalk_session_sample(s, 0.5, face.data(), 61) == ARTALK_SAMPLE_OK, "the engine is playing at 0.5 s");
  CHECK(artalk_session_cancel(s) == ARTALK_OK);  // barge-in while the face shows 0.5 s
  CHECK(artalk_session_sample(s, 0.8, face.data(), 61) == ARTALK_SAMPLE_IDLE, "cancelled span is idle");
  for (float v : face) CHECK(v == 0.0f, "release 0: at rest at once");
  double tc = -1;
  CHECK(artalk_session_push_audio(s, env.wav.data.data() + two_s, env.wav.data.size() - two_s, &tc) == ARTALK_OK);
  CHECK(std::fabs(tc - 2.0) < 1e-9, "cancelled audio still advances the timeline: ", tc);
  Recorded r = finish(s);
  check_increasing(r);
  const auto utts = r.of_type(ARTALK_EVENT_UTTERANCE_FINISHED);
  CHECK(utts.size() == 2 && utts[0].cancelled == 1 && utts[1].cancelled == 0 && utts[1].utterance_index == 1);
  CHECK(utts[0].frame_count <= 50, "the cancelled utterance has at most its 2 s of frames");
  CHECK(std::fabs(utts[1].start_time - 2.0) < 1e-6);
  const std::size_t n1 = expected_frames(static_cast<std::int64_t>((env.wav.data.size() - two_s) / fb), 25);
  CHECK(utts[1].frame_count == static_cast<int>(n1), utts[1].frame_count, " vs ", n1);
  // The jitter buffer serves the new utterance; the cancelled one stays silent.
  CHECK(artalk_session_sample(s, 2.0 + 0.5, face.data(), 61) == ARTALK_SAMPLE_OK);
  CHECK(artalk_session_sample(s, 1.5, face.data(), 61) == ARTALK_SAMPLE_IDLE);
  artalk_session_close(s);
}

void test_live_reconnect() {
  need_server();
  if (env.proxy.empty()) throw Skip("needs --proxy");
  // Reference: the same audio straight to the server.
  artalk_session* direct = open_session(live_config(env.server, 25));
  push_range(direct, 0, env.wav.data.size(), 0);
  Recorded want = finish(direct);
  artalk_session_close(direct);

  // Through the proxy, which breaks the first connection mid-stream.
  artalk_config* c = live_config(env.proxy, 25);
  artalk_config_set_reconnect(c, 5, 0.05, 5.0, 30.0);
  artalk_session* s = open_session(c);
  push_range(s, 0, env.wav.data.size(), 8.0);  // 8x real time: the break lands mid-audio
  Recorded r = finish(s);
  check_increasing(r);
  CHECK(!r.of_type(ARTALK_EVENT_DISCONNECTED).empty() && !r.of_type(ARTALK_EVENT_RECONNECTED).empty(),
        "the proxy broke the call and the session reconnected");
  CHECK(r.of_type(ARTALK_EVENT_DISCONNECTED)[0].status_code == 14, "UNAVAILABLE");
  CHECK(r.stats.reconnects >= 1 && r.of_type(ARTALK_EVENT_STARTED).size() == 1);
  CHECK(r.times.size() == want.times.size(), "no frame lost or doubled: ", r.times.size(), " vs ", want.times.size());
  double worst = 0;
  for (std::size_t i = 0; i < r.times.size(); ++i) {
    CHECK(std::fabs(r.times[i] - want.times[i]) < 1e-6, "frame ", i, " time ", r.times[i], " vs ", want.times[i]);
    for (std::size_t k = 0; k < r.channels(); ++k)
      worst = std::max(worst, static_cast<double>(std::fabs(r.values[i * 61 + k] - want.values[i * 61 + k])));
  }
  CHECK(worst < 1e-3, "re-sent audio animates the same (same seed): max diff ", worst);
  const auto utts = r.of_type(ARTALK_EVENT_UTTERANCE_FINISHED);
  CHECK(utts.size() == 1 && utts[0].utterance_index == 0 && utts[0].frame_count == static_cast<int>(r.times.size()));
  std::printf("  reconnects %lld, frames dropped as duplicates %lld\n", static_cast<long long>(r.stats.reconnects),
              static_cast<long long>(r.stats.frames_dropped));
  artalk_session_close(s);
}

void test_live_invalid_style_fails_without_retry() {
  need_server();
  artalk_config* c = live_config(env.server, 25);
  artalk_config_set_style_preset(c, "no-such-style");
  artalk_session* s = open_session(c);
  CHECK(artalk_session_wait_started(s, 30) == ARTALK_ERR_FAILED);
  const std::string err = last_error(s);
  CHECK(err.find("INVALID_ARGUMENT") != std::string::npos && err.find("style") != std::string::npos, err);
  artalk_stats st{};
  artalk_session_get_stats(s, &st);
  CHECK(st.reconnects == 0, "INVALID_ARGUMENT is not retried");
  artalk_event e{};
  bool failed_event = false;
  while (artalk_session_poll_event(s, &e) == 1) failed_event |= e.type == ARTALK_EVENT_FAILED && e.status_code == 3;
  CHECK(failed_event);
  artalk_session_close(s);
}

void test_live_close_midstream() {
  need_server();
  artalk_session* s = open_session(live_config(env.server, 60));
  CHECK(artalk_session_wait_started(s, 60) == ARTALK_OK, last_error(s));
  push_range(s, 0, env.wav.data.size(), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const auto t0 = std::chrono::steady_clock::now();
  artalk_session_close(s);  // no end: the call is cancelled
  CHECK(since(t0) < 2.0, "close mid-stream took ", since(t0), " s");
  // The server is fine afterwards: a new session works.
  artalk_session* again = open_session(live_config(env.server, 25));
  CHECK(artalk_session_wait_started(again, 30) == ARTALK_OK, last_error(again));
  artalk_session_close(again);
}

// ------------------------------------------------------------------ live cases: a secured server

void need_tls_and_token() {
  need_server();
  if (env.tls_ca.empty() || env.token.empty()) throw Skip("needs a TLS server with tokens: --tls-ca and --token");
}

void test_live_token_refused_without_retry() {
  need_tls_and_token();
  artalk_config* c = live_config(env.server, 25);
  CHECK(artalk_config_set_token(c, nullptr) == ARTALK_OK);
  std::string error = expect_failure(open_session(c), 16, 5.0);
  CHECK(contains(error, "UNAUTHENTICATED") && contains(error, "authorization: Bearer <token>"), error);

  const std::string wrong = "not-" + env.token;
  c = live_config(env.server, 25);
  CHECK(artalk_config_set_token(c, wrong.c_str()) == ARTALK_OK);
  error = expect_failure(open_session(c), 7, 5.0);
  CHECK(contains(error, "PERMISSION_DENIED") && contains(error, "not one this server accepts"), error);
  CHECK(!contains(error, wrong), "the token is not echoed: ", error);
}

void test_live_plaintext_to_tls_fails_clearly() {
  need_tls_and_token();
  artalk_config* c = plain_config(env.server, 25);
  CHECK(artalk_config_set_token(c, env.token.c_str()) == ARTALK_OK);
  CHECK(artalk_config_set_reconnect(c, 0, 0.05, 1.0, 30) == ARTALK_OK);
  const std::string error = expect_failure(open_session(c), 14, 5.0);
  CHECK(contains(error, "UNAVAILABLE: could not connect to " + env.server) && contains(error, "without TLS"), error);
}

void test_live_tls_server_name() {
  need_tls_and_token();
  // The server's certificate names 127.0.0.1 and localhost.
  artalk_config* c = live_config(env.server, 25);
  CHECK(artalk_config_set_tls_server_name(c, "localhost") == ARTALK_OK);
  artalk_session* s = open_session(c);
  CHECK(artalk_session_wait_started(s, 30) == ARTALK_OK, last_error(s));
  artalk_session_close(s);
  c = live_config(env.server, 25);
  CHECK(artalk_config_set_tls_server_name(c, "elsewhere.example") == ARTALK_OK);
  CHECK(artalk_config_set_reconnect(c, 0, 0.05, 1.0, 30) == ARTALK_OK);
  const std::string error = expect_failure(open_session(c), 14, 5.0);
  CHECK(contains(error, "UNAVAILABLE") && contains(error, "this client uses TLS"), error);
}

// The server ends a session whose client sends nothing for its idle timeout (run against a
// server whose idle_timeout_seconds is short): a new call would only idle out again.
void test_live_idle_timeout_fails_without_retry() {
  need_server();
  artalk_session* s = open_session(live_config(env.server, 25));
  CHECK(artalk_session_wait_started(s, 30) == ARTALK_OK, last_error(s));
  const std::string error = expect_failure(s, 4, 10.0);
  CHECK(contains(error, "DEADLINE_EXCEEDED") && contains(error, "idle_timeout_seconds"), error);
}

// Run against a server whose token has used up its session rate: the refusal carries
// grpc-retry-pushback-ms (about a minute here), and the session waits that long, not its
// own 50 ms backoff, before its one reconnect attempt.
void test_live_rate_limit_honours_pushback() {
  need_server();
  if (env.token.empty()) throw Skip("needs --token");
  artalk_config* c = live_config(env.server, 25);
  CHECK(artalk_config_set_reconnect(c, 1, 0.05, 5.0, 30) == ARTALK_OK);
  artalk_session* s = open_session(c);
  Recorded r;
  const auto t0 = std::chrono::steady_clock::now();
  while (r.of_type(ARTALK_EVENT_DISCONNECTED).empty() && since(t0) < 10) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    drain(s, &r);
  }
  const auto disconnected = r.of_type(ARTALK_EVENT_DISCONNECTED);
  CHECK(disconnected.size() == 1 && disconnected[0].status_code == 8, "refused with RESOURCE_EXHAUSTED");
  const std::string error = last_error(s);
  CHECK(contains(error, "RESOURCE_EXHAUSTED") && contains(error, "retry in"), error);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  // Retried after 50 ms, the refusal would have failed the session by now.
  CHECK(artalk_session_state(s) == ARTALK_STATE_RECONNECTING, "still waiting: state ", artalk_session_state(s));
  const auto t1 = std::chrono::steady_clock::now();
  artalk_session_close(s);
  CHECK(since(t1) < 1.0, "close while waiting out the pushback took ", since(t1), " s");
}

struct Case {
  const char* name;
  std::function<void()> run;
};

const std::vector<Case>& cases() {
  static const std::vector<Case> all = {
      {"jitter_interpolates", test_jitter_interpolates},
      {"jitter_late_and_release", test_jitter_late_and_release},
      {"jitter_cut_and_gap", test_jitter_cut_and_gap},
      {"jitter_prunes_history", test_jitter_prunes_history},
      {"abi_basics", test_abi_basics},
      {"security_options", test_security_options},
      {"unreachable_fails_fast_and_closes", test_unreachable_fails_fast_and_closes},
      {"live_frames", test_live_frames},
      {"live_flush", test_live_flush},
      {"live_cancel", test_live_cancel},
      {"live_reconnect", test_live_reconnect},
      {"live_invalid_style_fails_without_retry", test_live_invalid_style_fails_without_retry},
      {"live_close_midstream", test_live_close_midstream},
      {"live_token_refused_without_retry", test_live_token_refused_without_retry},
      {"live_plaintext_to_tls_fails_clearly", test_live_plaintext_to_tls_fails_clearly},
      {"live_tls_server_name", test_live_tls_server_name},
      {"live_idle_timeout_fails_without_retry", test_live_idle_timeout_fails_without_retry},
      {"live_rate_limit_honours_pushback", test_live_rate_limit_honours_pushback},
  };
  return all;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> only;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--server") env.server = next();
    else if (a == "--proxy") env.proxy = next();
    else if (a == "--wav") env.wav_path = next();
    else if (a == "--tls-ca") env.tls_ca = next();
    else if (a == "--tls-cert") env.tls_cert = next();
    else if (a == "--tls-key") env.tls_key = next();
    else if (a == "--token") env.token = next();
    else if (a == "--case") only.push_back(next());
    else if (a == "--list") {
      for (const auto& c : cases()) std::printf("%s\n", c.name);
      return 0;
    } else {
      std::fprintf(stderr,
                   "usage: artalk_core_tests [--server H:P] [--proxy H:P] [--wav F] [--tls-ca PEM] [--tls-cert PEM]\n"
                   "                         [--tls-key PEM] [--token T] [--case NAME]... [--list]\n");
      return 64;
    }
  }
  if (!env.wav_path.empty()) {
    if (const std::string err = artalk_sample::read_wav(env.wav_path, &env.wav); !err.empty()) {
      std::fprintf(stderr, "%s: %s\n", env.wav_path.c_str(), err.c_str());
      return 64;
    }
  }
  int passed = 0, failed = 0, skipped = 0;
  for (const auto& c : cases()) {
    if (!only.empty() && std::find(only.begin(), only.end(), c.name) == only.end()) continue;
    const auto t0 = std::chrono::steady_clock::now();
    try {
      c.run();
      ++passed;
      std::printf("PASS %s (%.2f s)\n", c.name, since(t0));
    } catch (const Skip& e) {
      ++skipped;
      std::printf("SKIP %s: %s\n", c.name, e.what());
    } catch (const std::exception& e) {
      ++failed;
      std::printf("FAIL %s: %s\n", c.name, e.what());
    }
    std::fflush(stdout);
  }
  std::printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
  return failed ? 1 : 0;
}
