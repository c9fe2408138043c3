// One live artalk.v1 Stream session with a jitter buffer, latency statistics
// and reconnects. C++17; gRPC stays inside session.cpp (pimpl), so this header
// is safe to include anywhere. The C ABI (artalk_client.h) wraps it one to one.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "artalk_client.h"

namespace artalk {

struct SessionOptions {
  std::string target = "127.0.0.1:50051";
  // SessionConfig of the contract.
  int encoding = ARTALK_ENCODING_PCM_S16LE;
  int sample_rate_hz = 16000;
  int channels = 1;
  int output_fps = 0;
  std::string retarget_preset;
  std::string retarget_inline;
  std::string style_preset;
  std::uint64_t seed = 0;
  float temperature = 0.0f;
  float top_p = 0.0f;
  float guidance = 0.0f;  // 0: the model's default
  int head_motion = -1;  // -1: unset (server default: on)
  int blinks = -1;
  std::string session_id;
  std::string character_id;
  // Security: TLS from PEM files (the CA's; a client certificate and key for mutual TLS),
  // the certificate name to expect when it is not the target's host, a bearer token.
  bool tls = false;
  std::string tls_ca_file;  // "" = the system's roots
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_server_name;
  std::string token;
  // Client side.
  double chunk_seconds = 0.1;
  double keep_seconds = 2.0;
  double release_seconds = 0.15;
  int max_reconnect_attempts = 5;
  double backoff_seconds = 0.25;
  double connect_timeout_seconds = 5.0;
  double max_replay_seconds = 30.0;
  double max_queued_seconds = 120.0;  // unsent audio kept while disconnected
  bool record_frames = false;

  // "" when valid, else what is wrong.
  std::string validate() const;
  int bytes_per_frame() const { return channels * (encoding == ARTALK_ENCODING_PCM_S16LE ? 2 : 4); }
};

class Session {
 public:
  // Starts connecting in the background. Returns nullptr and sets *error when
  // the options are invalid.
  static std::unique_ptr<Session> open(const SessionOptions& options, std::string* error);
  ~Session();  // close(): cancels the live call and joins every thread
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void close();
  int state() const;
  int wait_started(double timeout_seconds);
  int wait_finished(double timeout_seconds);

  int channel_count() const;
  std::string channel_name(int index) const;
  bool channel_is_rotation(int index) const;
  int fps() const;
  double algorithmic_latency() const;

  int push_audio(const void* data, std::size_t bytes, double* time_code);
  double audio_time() const;
  int flush();
  int cancel();
  int end();

  int sample(double playback_time, float* values, int capacity);
  int read_frames(double* time_codes, float* values, int max_frames, int capacity_per_frame);
  bool poll_event(artalk_event* event);
  artalk_stats stats() const;
  std::string last_error() const;

  struct Impl;

 private:
  explicit Session(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace artalk
