// artalk_cli: stream a WAV file through the artalk.v1 service with the native
// client core (its C ABI only, as an engine would) and write the frames as
// the same JSON (or CSV) as the Python `artalk-client animate`.
//
//   artalk_cli animate IN.wav --out OUT.json [--server HOST:PORT] [--style NAME]
//              [--retarget NAME] [--fps N] [--seed N] [--temperature T]
//              [--chunk-ms MS] [--realtime [--playback-delay-ms MS]]
//              [--tls-ca PEM] [--tls-cert PEM --tls-key PEM] [--token TOKEN]
//
// The connection options are the Python client's: --tls-ca or --tls-cert turns TLS on
// (--tls-cert/--tls-key answer a mutual-TLS server), --token defaults to $ARTALK_TOKEN.
// --realtime paces the audio like a live source and samples the jitter buffer
// on a 60 Hz render clock that plays the voice --playback-delay-ms behind the
// source, then prints latency and how many frames came too late for it.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "artalk_client.h"
#include "wav_reader.h"

namespace {

struct Args {
  std::string command, wav, out, server = "127.0.0.1:50051", style, retarget;
  std::string tls_ca, tls_cert, tls_key, token;
  int fps = 0;
  unsigned long long seed = 0;
  double temperature = 0.0, chunk_ms = 100.0, playback_delay_ms = 250.0;
  bool realtime = false;
};

int usage() {
  std::fprintf(stderr,
               "usage: artalk_cli animate IN.wav --out OUT.json|OUT.csv [--server HOST:PORT] [--style NAME]\n"
               "                  [--retarget NAME] [--fps N] [--seed N] [--temperature T] [--chunk-ms MS]\n"
               "                  [--realtime [--playback-delay-ms MS]]\n"
               "                  [--tls-ca PEM] [--tls-cert PEM --tls-key PEM] [--token TOKEN (default $ARTALK_TOKEN)]\n");
  return 64;
}

bool parse(int argc, char** argv, Args* a) {
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&](std::string* out) {
      if (i + 1 >= argc) return false;
      *out = argv[++i];
      return true;
    };
    std::string v;
    if (arg == "--out") {
      if (!value(&a->out)) return false;
    } else if (arg == "--server") {
      if (!value(&a->server)) return false;
    } else if (arg == "--tls-ca") {
      if (!value(&a->tls_ca)) return false;
    } else if (arg == "--tls-cert") {
      if (!value(&a->tls_cert)) return false;
    } else if (arg == "--tls-key") {
      if (!value(&a->tls_key)) return false;
    } else if (arg == "--token") {
      if (!value(&a->token)) return false;
    } else if (arg == "--style") {
      if (!value(&a->style)) return false;
    } else if (arg == "--retarget") {
      if (!value(&a->retarget)) return false;
    } else if (arg == "--fps") {
      if (!value(&v)) return false;
      a->fps = std::atoi(v.c_str());
    } else if (arg == "--seed") {
      if (!value(&v)) return false;
      a->seed = std::strtoull(v.c_str(), nullptr, 10);
    } else if (arg == "--temperature") {
      if (!value(&v)) return false;
      a->temperature = std::atof(v.c_str());
    } else if (arg == "--chunk-ms") {
      if (!value(&v)) return false;
      a->chunk_ms = std::atof(v.c_str());
    } else if (arg == "--playback-delay-ms") {
      if (!value(&v)) return false;
      a->playback_delay_ms = std::atof(v.c_str());
    } else if (arg == "--realtime") {
      a->realtime = true;
    } else if (arg.rfind("--", 0) == 0) {
      std::fprintf(stderr, "unknown option %s\n", arg.c_str());
      return false;
    } else {
      positional.push_back(arg);
    }
  }
  if (positional.size() != 2 || positional[0] != "animate" || a->out.empty()) return false;
  if (a->tls_cert.empty() != a->tls_key.empty()) {
    std::fprintf(stderr, "--tls-cert and --tls-key go together (a client certificate and its private key)\n");
    return false;
  }
  a->command = positional[0];
  a->wav = positional[1];
  return true;
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string error_of(artalk_session* s) {
  std::vector<char> buf(static_cast<std::size_t>(artalk_session_last_error(s, nullptr, 0)) + 1);
  artalk_session_last_error(s, buf.data(), static_cast<int>(buf.size()));
  return buf.data();
}

bool write_output(const std::string& path, int fps, const std::vector<std::string>& names,
                  const std::vector<double>& times, const std::vector<float>& values) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (!f) return false;
  const std::size_t c = names.size();
  const bool csv = path.size() >= 4 && (path.compare(path.size() - 4, 4, ".csv") == 0 ||
                                        path.compare(path.size() - 4, 4, ".CSV") == 0);
  if (csv) {
    std::fprintf(f, "time");
    for (const auto& n : names) std::fprintf(f, ",%s", n.c_str());
    std::fprintf(f, "\r\n");
    for (std::size_t i = 0; i < times.size(); ++i) {
      std::fprintf(f, "%.6f", times[i]);
      for (std::size_t k = 0; k < c; ++k) std::fprintf(f, ",%.6f", values[i * c + k]);
      std::fprintf(f, "\r\n");
    }
  } else {
    std::fprintf(f, "{\"fps\": %d, \"names\": [", fps);
    for (std::size_t k = 0; k < c; ++k) std::fprintf(f, "%s%s", k ? ", " : "", json_string(names[k]).c_str());
    std::fprintf(f, "], \"frames\": [");
    for (std::size_t i = 0; i < times.size(); ++i) {
      std::fprintf(f, "%s[", i ? ", " : "");
      for (std::size_t k = 0; k < c; ++k) std::fprintf(f, "%s%.9g", k ? ", " : "", values[i * c + k]);
      std::fprintf(f, "]");
    }
    std::fprintf(f, "]}");
  }
  return std::fclose(f) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  if (const char* token = std::getenv("ARTALK_TOKEN")) a.token = token;
  if (!parse(argc, argv, &a)) return usage();
  artalk_sample::Wav wav;
  if (const std::string err = artalk_sample::read_wav(a.wav, &wav); !err.empty()) {
    std::fprintf(stderr, "error: %s: %s\n", a.wav.c_str(), err.c_str());
    return 1;
  }

  artalk_config* config = artalk_config_create(a.server.c_str());
  bool ok = artalk_config_set_audio_format(config, wav.encoding, wav.sample_rate_hz, wav.channels) == ARTALK_OK &&
            artalk_config_set_output_fps(config, a.fps) == ARTALK_OK &&
            artalk_config_set_retarget_preset(config, a.retarget.c_str()) == ARTALK_OK &&
            artalk_config_set_style_preset(config, a.style.c_str()) == ARTALK_OK &&
            artalk_config_set_sampling(config, a.seed, static_cast<float>(a.temperature), 0.0f) == ARTALK_OK &&
            artalk_config_set_chunk_seconds(config, a.chunk_ms / 1000.0) == ARTALK_OK &&
            artalk_config_set_record_frames(config, 1) == ARTALK_OK &&
            artalk_config_set_token(config, a.token.c_str()) == ARTALK_OK;
  if (ok && (!a.tls_ca.empty() || !a.tls_cert.empty()))
    ok = artalk_config_set_tls(config, a.tls_ca.c_str(), a.tls_cert.c_str(), a.tls_key.c_str()) == ARTALK_OK;
  char error[512];
  artalk_session* session = ok ? artalk_session_open(config, error, sizeof error) : nullptr;
  artalk_config_destroy(config);
  if (!session) {
    std::fprintf(stderr, "error: invalid options%s%s\n", ok ? ": " : "", ok ? error : "");
    return 64;
  }

  const int frame_bytes = wav.bytes_per_frame();
  const auto chunk_frames = std::max<std::int64_t>(1, static_cast<std::int64_t>(a.chunk_ms / 1000.0 * wav.sample_rate_hz));
  const auto chunk_bytes = static_cast<std::size_t>(chunk_frames * frame_bytes);
  std::int64_t render_samples = 0, render_late = 0;
  std::vector<float> face;
  if (!a.realtime) {
    artalk_session_push_audio(session, wav.data.data(), wav.data.size(), nullptr);
  } else {
    // A live source: each chunk is pushed once it has been "spoken"; meanwhile a 60 Hz
    // render clock plays the voice playback_delay behind and samples the face.
    using clock = std::chrono::steady_clock;
    const auto start = clock::now();
    const double delay = a.playback_delay_ms / 1000.0;
    std::size_t offset = 0;
    double next_render = 0.0;
    const double duration = wav.seconds();
    while (true) {
      const double now = std::chrono::duration<double>(clock::now() - start).count();
      while (offset < wav.data.size() &&
             static_cast<double>(offset + chunk_bytes) / frame_bytes / wav.sample_rate_hz <= now) {
        const std::size_t n = std::min(chunk_bytes, wav.data.size() - offset);
        artalk_session_push_audio(session, wav.data.data() + offset, n, nullptr);
        offset += n;
      }
      if (offset >= wav.data.size() && now - delay > duration) break;
      const int channels = artalk_session_channel_count(session);
      if (now >= next_render && channels > 0) {
        face.resize(static_cast<std::size_t>(channels));
        const double playback = now - delay;
        if (playback >= 0 && playback <= duration) {
          ++render_samples;
          if (artalk_session_sample(session, playback, face.data(), channels) == ARTALK_SAMPLE_LATE) ++render_late;
        }
        next_render += 1.0 / 60.0;
      }
      if (artalk_session_state(session) == ARTALK_STATE_FAILED) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
  artalk_session_end(session);
  const int finished = artalk_session_wait_finished(session, 30.0 + 5.0 * wav.seconds());
  if (finished != ARTALK_OK) {
    std::fprintf(stderr, "error: %s\n",
                 finished == ARTALK_ERR_TIMEOUT ? "timed out waiting for the frames" : error_of(session).c_str());
    artalk_session_close(session);
    return 2;
  }

  const int channels = artalk_session_channel_count(session);
  std::vector<std::string> names;
  for (int k = 0; k < channels; ++k) {
    char name[256];
    artalk_session_channel_name(session, k, name, sizeof name);
    names.emplace_back(name);
  }
  std::vector<double> times;
  std::vector<float> values;
  std::vector<double> t_buf(256);
  std::vector<float> v_buf(256 * static_cast<std::size_t>(channels));
  for (int n; (n = artalk_session_read_frames(session, t_buf.data(), v_buf.data(), 256, channels)) > 0;) {
    times.insert(times.end(), t_buf.begin(), t_buf.begin() + n);
    values.insert(values.end(), v_buf.begin(), v_buf.begin() + static_cast<std::ptrdiff_t>(n) * channels);
  }
  const int fps = artalk_session_fps(session);
  artalk_stats stats;
  artalk_session_get_stats(session, &stats);
  artalk_session_close(session);

  if (!write_output(a.out, fps, names, times, values)) {
    std::fprintf(stderr, "error: cannot write %s\n", a.out.c_str());
    return 1;
  }
  std::printf("%zu frames at %d fps, %d channels -> %s\n", times.size(), fps, channels, a.out.c_str());
  if (a.realtime) {
    std::printf("first-frame latency: %.0f ms\n", stats.first_frame_latency_seconds * 1000);
    std::printf("frame latency (arrival - when its audio was spoken): p50 %.0f ms, p95 %.0f ms, max %.0f ms\n",
                stats.latency_p50_seconds * 1000, stats.latency_p95_seconds * 1000, stats.latency_max_seconds * 1000);
    std::printf("late at a 60 Hz render clock %.0f ms behind the voice: %lld of %lld samples, %lld frames\n",
                a.playback_delay_ms, static_cast<long long>(render_late), static_cast<long long>(render_samples),
                static_cast<long long>(stats.frames_late));
  }
  return 0;
}
