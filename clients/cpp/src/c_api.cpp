// The C ABI: opaque handles over artalk::SessionOptions and artalk::Session.
// No exception crosses the boundary: every entry point catches and reports.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <exception>
#include <memory>
#include <string>

#include "artalk_client.h"
#include "credentials.h"
#include "session.h"

struct artalk_config {
  artalk::SessionOptions options;
};

struct artalk_session {
  std::unique_ptr<artalk::Session> session;
};

namespace {

int copy_out(const std::string& text, char* buf, int len) {
  if (buf != nullptr && len > 0) {
    const std::size_t n = std::min(text.size(), static_cast<std::size_t>(len - 1));
    std::memcpy(buf, text.data(), n);
    buf[n] = '\0';
  }
  return static_cast<int>(text.size());
}

std::string str(const char* s) { return s ? std::string(s) : std::string(); }

template <typename F>
int guarded(F&& f) {
  try {
    return f();
  } catch (const std::exception&) {
    return ARTALK_ERR_FAILED;
  } catch (...) {
    return ARTALK_ERR_FAILED;
  }
}

}  // namespace

extern "C" {

ARTALK_API int ARTALK_CALL artalk_abi_version(void) { return ARTALK_ABI_VERSION; }

ARTALK_API const char* ARTALK_CALL artalk_version(void) { return "0.1.0 (artalk.v1)"; }

// ---------------------------------------------------------------- config

ARTALK_API artalk_config* ARTALK_CALL artalk_config_create(const char* target) {
  try {
    auto* config = new artalk_config();
    if (target && *target) config->options.target = target;
    return config;
  } catch (...) {
    return nullptr;
  }
}

ARTALK_API void ARTALK_CALL artalk_config_destroy(artalk_config* config) { delete config; }

#define ARTALK_CONFIG_GUARD \
  if (config == nullptr) return ARTALK_ERR_INVALID_ARGUMENT

ARTALK_API int ARTALK_CALL artalk_config_set_audio_format(artalk_config* config, int encoding, int sample_rate_hz,
                                                          int channels) {
  ARTALK_CONFIG_GUARD;
  if (encoding != ARTALK_ENCODING_PCM_S16LE && encoding != ARTALK_ENCODING_FLOAT32_LE) return ARTALK_ERR_INVALID_ARGUMENT;
  if (sample_rate_hz < 8000 || sample_rate_hz > 48000 || (channels != 1 && channels != 2))
    return ARTALK_ERR_INVALID_ARGUMENT;
  config->options.encoding = encoding;
  config->options.sample_rate_hz = sample_rate_hz;
  config->options.channels = channels;
  return ARTALK_OK;
}

ARTALK_API int ARTALK_CALL artalk_config_set_output_fps(artalk_config* config, int fps) {
  ARTALK_CONFIG_GUARD;
  if (fps < 0 || fps > 120) return ARTALK_ERR_INVALID_ARGUMENT;
  config->options.output_fps = fps;
  return ARTALK_OK;
}

ARTALK_API int ARTALK_CALL artalk_config_set_retarget_preset(artalk_config* config, const char* name) {
  ARTALK_CONFIG_GUARD;
  return guarded([&] {
    config->options.retarget_preset = str(name);
    config->options.retarget_inline.clear();
    return ARTALK_OK;
  });
}

ARTALK_API int ARTALK_CALL artalk_config_set_retarget_inline(artalk_config* config, const char* map_text) {
  ARTALK_CONFIG_GUARD;
  return guarded([&] {
    config->options.retarget_inline = str(map_text);
    config->options.retarget_preset.clear();
    return ARTALK_OK;
  });
}

ARTALK_API int ARTALK_CALL artalk_config_set_style_preset(artalk_config* config, const char* name) {
  ARTALK_CONFIG_GUARD;
  return guarded([&] {
    config->options.style_preset = str(name);
    return ARTALK_OK;
  });
}

ARTALK_API int ARTALK_CALL artalk_config_set_sampling(artalk_config* config, uint64_t seed, float temperature,
                                                      float top_p) {
  ARTALK_CONFIG_GUARD;
  if (!std::isfinite(temperature) || temperature < 0 || temperature > 2 || !std::isfinite(top_p) || top_p < 0 ||
      top_p > 1)
    return ARTALK_ERR_INVALID_ARGUMENT;
  config->options.seed = seed;
  config->options.temperature = temperature;
  config->options.top_p = top_p;
  return ARTALK_OK;
}

ARTALK_API int ARTALK_CALL artalk_config_set_guidance(artalk_config* config, float guidance) {
  ARTALK_CONFIG_GUARD;
  if (!std::isfinite(guidance) || (guidance != 0 && (guidance < 1 || guidance > 4))) return ARTALK_ERR_INVALID_ARGUMENT;
  config->options.guidance = guidance;
  return ARTALK_OK;
}

ARTALK_API int ARTALK_CALL artalk_config_set_motion(artalk_config* config, int head_motion, int blinks) {
  ARTALK_CONFIG_GUARD;
  config->options.head_motion = head_motion != 0;
  config->options.blinks = blinks != 0;
  return ARTALK_OK;
}

ARTALK_API int ARTALK_CALL artalk_config_set_ids(artalk_config* config, const char* session_id,
                                                 const char* character_id) {
  ARTALK_CONFIG_GUARD;
  if ((session_id && std::strlen(session_id) > 128) || (character_id && std::strlen(character_id) > 128))
    return ARTALK_ERR_INVALID_ARGUMENT;
  return guarded([&] {
    config->options.session_id = str(session_id);
    config->options.character_id = str(character_id);
    return ARTALK_OK;
  });
}

ARTALK_API int ARTALK_CALL artalk_config_set_chunk_seconds(artalk_config* config, double seconds) {
  ARTALK_CONFIG_GUARD;
  if (!(seconds >= 0.01 && seconds <= 10.0)) return ARTALK_ERR_INVALID_ARGUMENT;
  config->options.chunk_seconds = seconds;
  return ARTALK_OK;
}

ARTALK_API int ARTALK_CALL artalk_config_set_jitter_buffer(artalk_config* config, double keep_seconds,
                                                           double release_seconds) {
  ARTALK_CONFIG_GUARD;
  if (!(keep_seconds >= 0 && keep_seconds <= 600) || !(release_seconds >= 0 && release_seconds <= 10))
    return ARTALK_ERR_INVALID_ARGUMENT;
  config->options.keep_seconds = keep_seconds;
  config->options.release_seconds = release_seconds;
  return ARTALK_OK;
}

ARTALK_API int ARTALK_CALL artalk_config_set_reconnect(artalk_config* config, int max_attempts,
                                                       double initial_backoff_seconds,
                                                       double connect_timeout_seconds, double max_replay_seconds) {
  ARTALK_CONFIG_GUARD;
  if (max_attempts < 0 || !(initial_backoff_seconds >= 0 && initial_backoff_seconds <= 60) ||
      !(connect_timeout_seconds > 0 && connect_timeout_seconds <= 600) ||
      !(max_replay_seconds >= 0 && max_replay_seconds <= 600))
    return ARTALK_ERR_INVALID_ARGUMENT;
  config->options.max_reconnect_attempts = max_attempts;
  config->options.backoff_seconds = initial_backoff_seconds;
  config->options.connect_timeout_seconds = connect_timeout_seconds;
  config->options.max_replay_seconds = max_replay_seconds;
  return ARTALK_OK;
}

ARTALK_API int ARTALK_CALL artalk_config_set_record_frames(artalk_config* config, int enabled) {
  ARTALK_CONFIG_GUARD;
  config->options.record_frames = enabled != 0;
  return ARTALK_OK;
}

ARTALK_API int ARTALK_CALL artalk_config_set_tls(artalk_config* config, const char* ca_file, const char* cert_file,
                                                 const char* key_file) {
  ARTALK_CONFIG_GUARD;
  if (str(cert_file).empty() != str(key_file).empty()) return ARTALK_ERR_INVALID_ARGUMENT;
  return guarded([&] {
    config->options.tls = true;
    config->options.tls_ca_file = str(ca_file);
    config->options.tls_cert_file = str(cert_file);
    config->options.tls_key_file = str(key_file);
    return ARTALK_OK;
  });
}

ARTALK_API int ARTALK_CALL artalk_config_set_tls_server_name(artalk_config* config, const char* name) {
  ARTALK_CONFIG_GUARD;
  return guarded([&] {
    if (!artalk::valid_server_name(str(name))) return ARTALK_ERR_INVALID_ARGUMENT;
    config->options.tls_server_name = str(name);
    return ARTALK_OK;
  });
}

ARTALK_API int ARTALK_CALL artalk_config_set_token(artalk_config* config, const char* token) {
  ARTALK_CONFIG_GUARD;
  return guarded([&] {
    if (!artalk::valid_token(str(token))) return ARTALK_ERR_INVALID_ARGUMENT;
    config->options.token = str(token);
    return ARTALK_OK;
  });
}

// ---------------------------------------------------------------- session

ARTALK_API artalk_session* ARTALK_CALL artalk_session_open(const artalk_config* config, char* error_buf,
                                                          int error_len) {
  try {
    if (config == nullptr) {
      copy_out("config is NULL", error_buf, error_len);
      return nullptr;
    }
    std::string error;
    auto session = artalk::Session::open(config->options, &error);
    if (!session) {
      copy_out(error, error_buf, error_len);
      return nullptr;
    }
    copy_out("", error_buf, error_len);
    auto* handle = new artalk_session();
    handle->session = std::move(session);
    return handle;
  } catch (const std::exception& e) {
    copy_out(e.what(), error_buf, error_len);
    return nullptr;
  }
}

ARTALK_API void ARTALK_CALL artalk_session_close(artalk_session* session) {
  if (session == nullptr) return;
  try {
    session->session->close();
  } catch (...) {
  }
  delete session;
}

#define ARTALK_SESSION_GUARD \
  if (session == nullptr) return ARTALK_ERR_INVALID_ARGUMENT

ARTALK_API int ARTALK_CALL artalk_session_state(artalk_session* session) {
  ARTALK_SESSION_GUARD;
  return session->session->state();
}

ARTALK_API int ARTALK_CALL artalk_session_wait_started(artalk_session* session, double timeout_seconds) {
  ARTALK_SESSION_GUARD;
  return guarded([&] { return session->session->wait_started(std::max(0.0, timeout_seconds)); });
}

ARTALK_API int ARTALK_CALL artalk_session_channel_count(artalk_session* session) {
  ARTALK_SESSION_GUARD;
  return session->session->channel_count();
}

ARTALK_API int ARTALK_CALL artalk_session_channel_name(artalk_session* session, int index, char* buf, int len) {
  ARTALK_SESSION_GUARD;
  if (index < 0 || index >= session->session->channel_count()) return ARTALK_ERR_INVALID_ARGUMENT;
  return guarded([&] { return copy_out(session->session->channel_name(index), buf, len); });
}

ARTALK_API int ARTALK_CALL artalk_session_channel_is_rotation(artalk_session* session, int index) {
  ARTALK_SESSION_GUARD;
  return session->session->channel_is_rotation(index) ? 1 : 0;
}

ARTALK_API int ARTALK_CALL artalk_session_fps(artalk_session* session) {
  ARTALK_SESSION_GUARD;
  return session->session->fps();
}

ARTALK_API double ARTALK_CALL artalk_session_algorithmic_latency(artalk_session* session) {
  return session ? session->session->algorithmic_latency() : -1.0;
}

ARTALK_API int ARTALK_CALL artalk_session_push_audio(artalk_session* session, const void* data, size_t bytes,
                                                     double* time_code) {
  ARTALK_SESSION_GUARD;
  return guarded([&] { return session->session->push_audio(data, bytes, time_code); });
}

ARTALK_API double ARTALK_CALL artalk_session_audio_time(artalk_session* session) {
  return session ? session->session->audio_time() : 0.0;
}

ARTALK_API int ARTALK_CALL artalk_session_flush(artalk_session* session) {
  ARTALK_SESSION_GUARD;
  return guarded([&] { return session->session->flush(); });
}

ARTALK_API int ARTALK_CALL artalk_session_cancel(artalk_session* session) {
  ARTALK_SESSION_GUARD;
  return guarded([&] { return session->session->cancel(); });
}

ARTALK_API int ARTALK_CALL artalk_session_end(artalk_session* session) {
  ARTALK_SESSION_GUARD;
  return guarded([&] { return session->session->end(); });
}

ARTALK_API int ARTALK_CALL artalk_session_wait_finished(artalk_session* session, double timeout_seconds) {
  ARTALK_SESSION_GUARD;
  return guarded([&] { return session->session->wait_finished(std::max(0.0, timeout_seconds)); });
}

ARTALK_API int ARTALK_CALL artalk_session_sample(artalk_session* session, double playback_time, float* values,
                                                 int capacity) {
  ARTALK_SESSION_GUARD;
  return guarded([&] { return session->session->sample(playback_time, values, capacity); });
}

ARTALK_API int ARTALK_CALL artalk_session_read_frames(artalk_session* session, double* time_codes, float* values,
                                                      int max_frames, int capacity_per_frame) {
  ARTALK_SESSION_GUARD;
  return guarded([&] { return session->session->read_frames(time_codes, values, max_frames, capacity_per_frame); });
}

ARTALK_API int ARTALK_CALL artalk_session_poll_event(artalk_session* session, artalk_event* event) {
  if (session == nullptr || event == nullptr) return ARTALK_ERR_INVALID_ARGUMENT;
  return guarded([&] { return session->session->poll_event(event) ? 1 : 0; });
}

ARTALK_API int ARTALK_CALL artalk_session_get_stats(artalk_session* session, artalk_stats* stats) {
  if (session == nullptr || stats == nullptr) return ARTALK_ERR_INVALID_ARGUMENT;
  return guarded([&] {
    *stats = session->session->stats();
    return ARTALK_OK;
  });
}

ARTALK_API int ARTALK_CALL artalk_session_last_error(artalk_session* session, char* buf, int len) {
  ARTALK_SESSION_GUARD;
  return guarded([&] { return copy_out(session->session->last_error(), buf, len); });
}

}  // extern "C"
