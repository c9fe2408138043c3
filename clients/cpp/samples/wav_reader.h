// A minimal RIFF/WAVE reader for the formats the service accepts: PCM 16-bit
// and IEEE float 32-bit, any rate, mono or stereo (WAVE_FORMAT_EXTENSIBLE too).
// Header-only; used by the artalk_cli sample and the core tests.
#pragma once

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "artalk_client.h"

namespace artalk_sample {

struct Wav {
  int encoding = 0;  // artalk_encoding
  int sample_rate_hz = 0;
  int channels = 0;
  std::vector<char> data;  // the raw sample bytes, as in the file

  int bytes_per_frame() const { return channels * (encoding == ARTALK_ENCODING_PCM_S16LE ? 2 : 4); }
  std::int64_t frames() const { return bytes_per_frame() ? static_cast<std::int64_t>(data.size()) / bytes_per_frame() : 0; }
  double seconds() const { return sample_rate_hz ? static_cast<double>(frames()) / sample_rate_hz : 0.0; }
};

inline std::uint32_t le32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return u[0] | (u[1] << 8) | (u[2] << 16) | (static_cast<std::uint32_t>(u[3]) << 24);
}
inline std::uint16_t le16(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return static_cast<std::uint16_t>(u[0] | (u[1] << 8));
}

// Reads `path` into *wav; returns "" on success, else what is wrong.
inline std::string read_wav(const std::string& path, Wav* wav) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "cannot open " + path;
  std::vector<char> file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (file.size() < 12 || std::memcmp(file.data(), "RIFF", 4) != 0 || std::memcmp(file.data() + 8, "WAVE", 4) != 0)
    return "not a RIFF/WAVE file";
  bool have_fmt = false;
  std::size_t pos = 12;
  while (pos + 8 <= file.size()) {
    const char* id = file.data() + pos;
    const std::size_t size = le32(id + 4);
    const std::size_t body = pos + 8;
    const std::size_t avail = std::min(size, file.size() - body);
    if (std::memcmp(id, "fmt ", 4) == 0) {
      if (avail < 16) return "truncated fmt chunk";
      std::uint16_t tag = le16(file.data() + body);
      wav->channels = le16(file.data() + body + 2);
      wav->sample_rate_hz = static_cast<int>(le32(file.data() + body + 4));
      const std::uint16_t bits = le16(file.data() + body + 14);
      if (tag == 0xFFFE && avail >= 26) tag = le16(file.data() + body + 24);
      if (tag == 1 && bits == 16) {
        wav->encoding = ARTALK_ENCODING_PCM_S16LE;
      } else if (tag == 3 && bits == 32) {
        wav->encoding = ARTALK_ENCODING_FLOAT32_LE;
      } else {
        return "unsupported WAV sample format: PCM 16-bit or IEEE float 32-bit expected";
      }
      have_fmt = true;
    } else if (std::memcmp(id, "data", 4) == 0) {
      if (!have_fmt) return "data chunk before fmt chunk";
      const std::size_t usable = avail - avail % static_cast<std::size_t>(wav->bytes_per_frame());
      wav->data.assign(file.begin() + static_cast<std::ptrdiff_t>(body),
                       file.begin() + static_cast<std::ptrdiff_t>(body + usable));
      return "";
    }
    pos = body + size + (size & 1);
  }
  return "no data chunk";
}

}  // namespace artalk_sample
