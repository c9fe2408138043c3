// The live session: one worker thread owns the gRPC call (connect, send the
// SessionConfig, write queued audio, reconnect), one reader thread per call
// turns responses into jitter-buffer frames and events.
//
// Audio and control messages live in one log of items, each stamped with its
// place on the session timeline and the utterance it belongs to. An item
// leaves the log only when the server has finished its utterance, so after a
// broken call the worker opens a new one and re-sends the log: the new call's
// time 0 is mapped onto the first re-sent sample, and frames the client already
// has (time code not past the newest one) are dropped as duplicates.
#include "session.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include <grpcpp/grpcpp.h>

#include "artalk/v1/animation.pb.h"
#include "artalk/v1/service.grpc.pb.h"
#include "credentials.h"
#include "jitter_buffer.h"

namespace artalk {
namespace pb = ::artalk::v1;

namespace {

using Clock = std::chrono::steady_clock;

double now_seconds() {
  return std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
}

// Only what a later call can cure. Refused credentials (UNAUTHENTICATED, PERMISSION_DENIED),
// bad settings (INVALID_ARGUMENT) and the server's idle timeout (DEADLINE_EXCEEDED: a new
// call would idle out the same way) fail the session with the server's message.
bool retryable(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::UNAVAILABLE:         // server down, restarting, connection lost
    case grpc::StatusCode::RESOURCE_EXHAUSTED:  // session limit or token rate: retry later
    case grpc::StatusCode::CANCELLED:           // server shut down mid-call (ours never reaches here)
    case grpc::StatusCode::ABORTED:
      return true;
    default:
      return false;
  }
}

std::string format_seconds(double s) {
  std::ostringstream os;
  os << s;
  return os.str();
}

// The server's grpc-retry-pushback-ms trailer (sent with RESOURCE_EXHAUSTED), in seconds; 0 when none.
double retry_pushback_seconds(const grpc::ClientContext& context) {
  const auto& trailers = context.GetServerTrailingMetadata();
  const auto it = trailers.find("grpc-retry-pushback-ms");
  if (it == trailers.end()) return 0.0;
  const double ms = std::atof(std::string(it->second.data(), it->second.size()).c_str());
  return ms > 0 ? ms / 1000.0 : 0.0;
}

const char* status_name(grpc::StatusCode code) {
  static const char* names[] = {"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
                                "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
                                "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
                                "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"};
  const int i = static_cast<int>(code);
  return i >= 0 && i < 17 ? names[i] : "UNKNOWN";
}

// One entry of the send log.
struct Item {
  enum Kind { kAudio, kFlush, kCancel, kEnd } kind = kAudio;
  std::int64_t sample_start = 0;  // session timeline, in sample frames
  std::int64_t samples = 0;       // audio only
  int utterance = 0;              // global index of the utterance it belongs to (a flush/cancel ends it)
  std::string bytes;              // audio only
};

// Owned by the worker for the life of one call.
struct Call {
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReaderWriter<pb::StreamRequest, pb::StreamResponse>> stream;
};

// How a call ended.
struct CallEnd {
  grpc::Status status;
  double retry_after_seconds = 0.0;  // the server's pushback: wait at least this before the next call
};

// How waiting for the channel ended.
enum class Connect { kReady, kFailing, kTimedOut, kClosing };

}  // namespace

std::string SessionOptions::validate() const {
  if (target.empty()) return "target is empty; expected host:port";
  if (encoding != ARTALK_ENCODING_PCM_S16LE && encoding != ARTALK_ENCODING_FLOAT32_LE)
    return "encoding must be ARTALK_ENCODING_PCM_S16LE (1) or ARTALK_ENCODING_FLOAT32_LE (2)";
  if (sample_rate_hz < 8000 || sample_rate_hz > 48000) return "sample rate must be 8000 to 48000 Hz";
  if (channels != 1 && channels != 2) return "channels must be 1 or 2";
  if (output_fps < 0 || output_fps > 120) return "output fps must be 0 (native) to 120";
  if (!(chunk_seconds >= 0.01 && chunk_seconds <= 10.0)) return "chunk seconds must be 0.01 to 10";
  if (!(keep_seconds >= 0.0) || !(release_seconds >= 0.0)) return "jitter buffer times must be >= 0";
  if (max_reconnect_attempts < 0 || !(backoff_seconds >= 0.0) || !(connect_timeout_seconds > 0.0) ||
      !(max_replay_seconds >= 0.0))
    return "reconnect settings must be >= 0 (connect timeout > 0)";
  if (!std::isfinite(temperature) || !std::isfinite(top_p)) return "temperature and top_p must be finite";
  if (!std::isfinite(guidance) || (guidance != 0 && (guidance < 1 || guidance > 4)))
    return "guidance must be 0 (the model's default) or 1 to 4";
  if (session_id.size() > 128 || character_id.size() > 128) return "ids are at most 128 bytes";
  return validate_security(*this);
}

struct Session::Impl {
  SessionOptions opt;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<pb::Animation::Stub> stub;

  mutable std::mutex mu;
  std::condition_variable cv;
  std::thread worker;
  bool closing = false;
  int state = ARTALK_STATE_CONNECTING;
  std::string last_error;
  Call* live_call = nullptr;  // for TryCancel from close()

  // Send log and timeline.
  std::deque<Item> log;
  std::size_t sent = 0;  // items of `log` written on the current call
  std::int64_t samples_pushed = 0;
  std::int64_t samples_sent_end = 0;
  int utterance_pushed = 0;  // index of the utterance new audio belongs to
  bool end_pushed = false;
  bool end_written = false;

  // The current call's mapping onto the session timeline.
  std::int64_t call_offset = 0;  // timeline sample of the call's time 0
  int call_base = 0;             // global index of the call's utterance 0
  bool reader_done = false;
  bool status_received = false;
  bool call_progress = false;
  int attempt = 0;

  // Results.
  std::vector<std::string> names;
  std::vector<bool> rotation;
  int fps = 0;
  double latency_total = -1.0;
  JitterBuffer buffer;
  double newest = -1e300;  // newest delivered time code
  std::map<int, int> utterance_frames;
  int utterances_finished = 0;
  std::deque<artalk_event> events;
  std::deque<double> rec_times;
  std::deque<float> rec_values;

  // Statistics.
  std::int64_t frames_received = 0, frames_dropped = 0, reconnects = 0;
  std::map<std::int64_t, double> write_wall;  // end sample of each written chunk -> wall time written
  double first_write_wall = -1.0, first_frame_latency = -1.0;
  std::vector<double> latencies = std::vector<double>(1024, 0.0);
  std::size_t latency_count = 0;

  double seconds(std::int64_t samples) const { return static_cast<double>(samples) / opt.sample_rate_hz; }

  void push_event(artalk_event e) {
    if (events.size() >= 4096) events.pop_front();  // nobody polls: keep the newest
    events.push_back(e);
  }

  void fail(const std::string& message, int code) {
    state = ARTALK_STATE_FAILED;
    last_error = message;
    artalk_event e{};
    e.type = ARTALK_EVENT_FAILED;
    e.status_code = code;
    push_event(e);
    cv.notify_all();
  }

  pb::SessionConfig session_config() const {
    pb::SessionConfig c;
    c.mutable_audio_format()->set_encoding(static_cast<pb::AudioEncoding>(opt.encoding));
    c.mutable_audio_format()->set_sample_rate_hz(static_cast<std::uint32_t>(opt.sample_rate_hz));
    c.mutable_audio_format()->set_channels(static_cast<std::uint32_t>(opt.channels));
    c.set_output_fps(static_cast<std::uint32_t>(opt.output_fps));
    if (!opt.retarget_inline.empty()) {
      c.mutable_retarget()->set_inline_map(opt.retarget_inline);
    } else if (!opt.retarget_preset.empty()) {
      c.mutable_retarget()->set_preset(opt.retarget_preset);
    }
    if (!opt.style_preset.empty()) c.mutable_style()->set_preset(opt.style_preset);
    c.set_seed(opt.seed);
    c.set_temperature(opt.temperature);
    c.set_top_p(opt.top_p);
    c.set_guidance(opt.guidance);
    if (opt.head_motion >= 0) c.set_head_motion(opt.head_motion != 0);
    if (opt.blinks >= 0) c.set_blinks(opt.blinks != 0);
    c.set_session_id(opt.session_id);
    c.set_character_id(opt.character_id);
    return c;
  }

  // ------------------------------------------------------------ worker

  // Wait for the channel to be READY, in short steps so that close() is prompt. A server that
  // is restarting gets the whole connect timeout; kFailing: connection attempts kept failing
  // until then (refused, or a TLS handshake that failed).
  Connect wait_connected() {
    using Wall = std::chrono::system_clock;  // gRPC deadlines take system_clock
    const Wall::time_point deadline =
        Wall::now() + std::chrono::duration_cast<Wall::duration>(std::chrono::duration<double>(opt.connect_timeout_seconds));
    bool failing = false;
    for (;;) {
      const grpc_connectivity_state s = channel->GetState(true);
      if (s == GRPC_CHANNEL_READY) return Connect::kReady;
      failing |= s == GRPC_CHANNEL_TRANSIENT_FAILURE;
      if (Wall::now() >= deadline) return failing ? Connect::kFailing : Connect::kTimedOut;
      {
        std::lock_guard<std::mutex> lock(mu);
        if (closing) return Connect::kClosing;
      }
      const Wall::time_point step = Wall::now() + std::chrono::milliseconds(100);
      channel->WaitForStateChange(s, std::min(deadline, step));
    }
  }

  void run() {
    for (;;) {
      const CallEnd end = run_call();
      grpc::Status status = end.status;
      std::unique_lock<std::mutex> lock(mu);
      live_call = nullptr;
      if (closing) return;
      if (status.ok() && status_received) {
        state = ARTALK_STATE_FINISHED;
        artalk_event e{};
        e.type = ARTALK_EVENT_FINISHED;
        push_event(e);
        cv.notify_all();
        return;
      }
      if (status.ok()) status = grpc::Status(grpc::StatusCode::UNAVAILABLE, "the call ended without a final status");
      const std::string reason = std::string(status_name(status.error_code())) + ": " + status.error_message();
      if (call_progress) attempt = 0;  // a call that delivered something resets the count
      if (!retryable(status.error_code()) || attempt >= opt.max_reconnect_attempts) {
        fail(attempt > 0 ? reason + " (after " + std::to_string(attempt) + " reconnect attempts)" : reason,
             static_cast<int>(status.error_code()));
        return;
      }
      ++attempt;
      ++reconnects;
      last_error = reason;
      state = ARTALK_STATE_RECONNECTING;
      artalk_event e{};
      e.type = ARTALK_EVENT_DISCONNECTED;
      e.status_code = static_cast<int>(status.error_code());
      e.attempt = attempt;
      push_event(e);
      cv.notify_all();
      const double backoff =
          std::max(end.retry_after_seconds, std::min(4.0, opt.backoff_seconds * std::pow(2.0, attempt - 1)));
      cv.wait_for(lock, std::chrono::duration<double>(backoff), [this] { return closing; });
      if (closing) return;
    }
  }

  // A long utterance without flushes must not grow the log for ever: sent audio older
  // than the replay window leaves it (a reconnect then re-sends only the window).
  void prune_sent_locked() {
    const std::int64_t keep_from = samples_sent_end - static_cast<std::int64_t>(opt.max_replay_seconds * opt.sample_rate_hz);
    while (sent > 0 && !log.empty() && log.front().kind == Item::kAudio &&
           log.front().sample_start + log.front().samples <= keep_from) {
      log.pop_front();
      --sent;
    }
  }

  // Prepare the log for a new call: drop audio beyond the replay window and map the call's time 0.
  void begin_call_locked() {
    const std::int64_t keep_from = samples_sent_end - static_cast<std::int64_t>(opt.max_replay_seconds * opt.sample_rate_hz);
    for (auto it = log.begin(); it != log.end();) {
      const bool old = it->kind == Item::kAudio && it->sample_start + it->samples <= keep_from &&
                       it->sample_start + it->samples <= samples_sent_end;
      it = old ? log.erase(it) : std::next(it);
    }
    call_offset = samples_pushed;
    for (const Item& item : log) {
      if (item.kind == Item::kAudio) {
        call_offset = item.sample_start;
        break;
      }
    }
    call_base = log.empty() ? utterance_pushed : log.front().utterance;
    sent = 0;
    reader_done = false;
    status_received = false;
    call_progress = false;
    end_written = false;
  }

  CallEnd run_call() {
    const Connect connect = wait_connected();
    if (connect == Connect::kClosing) return {grpc::Status::CANCELLED};
    if (connect == Connect::kTimedOut) {
      return {grpc::Status(grpc::StatusCode::UNAVAILABLE, "could not connect to " + opt.target + " within " +
                                                              format_seconds(opt.connect_timeout_seconds) + " s" +
                                                              connection_hint(opt))};
    }
    // kFailing: the call is made anyway; on a failing channel it fails at once with gRPC's reason.
    Call call;
    {
      std::lock_guard<std::mutex> lock(mu);
      if (closing) return {grpc::Status::CANCELLED};
      begin_call_locked();
      live_call = &call;
    }
    authorize(opt, &call.context);
    call.stream = stub->Stream(&call.context);
    pb::StreamRequest first;
    *first.mutable_config() = session_config();
    bool writing = call.stream->Write(first);
    std::thread reader([this, &call] { read_loop(call); });
    while (writing) {
      Item item;
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [this] { return closing || reader_done || (!end_written && sent < log.size()); });
        if (closing || reader_done) break;
        item = log[sent];  // a copy: the reader may prune the log while we write
      }
      pb::StreamRequest request;
      switch (item.kind) {
        case Item::kAudio: request.mutable_audio()->set_data(item.bytes); break;
        case Item::kFlush: request.mutable_flush(); break;
        case Item::kCancel: request.mutable_cancel(); break;
        case Item::kEnd: request.mutable_end_of_audio(); break;
      }
      writing = call.stream->Write(request);
      std::lock_guard<std::mutex> lock(mu);
      if (!writing) break;
      ++sent;
      if (item.kind == Item::kAudio) {
        const std::int64_t end_sample = item.sample_start + item.samples;
        const double wall = now_seconds();
        write_wall[end_sample] = wall;
        if (first_write_wall < 0) first_write_wall = wall;
        samples_sent_end = std::max(samples_sent_end, end_sample);
        prune_sent_locked();
      } else if (item.kind == Item::kEnd) {
        end_written = true;
      }
      if (end_written) {
        call.stream->WritesDone();
        break;
      }
    }
    {
      std::unique_lock<std::mutex> lock(mu);
      if (closing) call.context.TryCancel();
      // After a failed write the reader learns the status from Read; when the call is
      // half-closed we wait for the server to finish it.
      cv.wait(lock, [this] { return reader_done || closing; });
      if (closing) call.context.TryCancel();
    }
    reader.join();
    const grpc::Status status = call.stream->Finish();
    if (connect == Connect::kFailing && status.error_code() == grpc::StatusCode::UNAVAILABLE) {
      return {grpc::Status(grpc::StatusCode::UNAVAILABLE,
                           "could not connect to " + opt.target + ": " + status.error_message() + connection_hint(opt))};
    }
    return {status, retry_pushback_seconds(call.context)};
  }

  // ------------------------------------------------------------ reader

  void read_loop(Call& call) {
    pb::StreamResponse response;
    while (call.stream->Read(&response)) {
      std::lock_guard<std::mutex> lock(mu);
      switch (response.message_case()) {
        case pb::StreamResponse::kStarted: on_started(response.started()); break;
        case pb::StreamResponse::kFrames: on_frames(response.frames()); break;
        case pb::StreamResponse::kUtteranceFinished: on_utterance_finished(response.utterance_finished()); break;
        case pb::StreamResponse::kStatus: status_received = true; break;
        default: break;  // audio_echo: not requested by this client
      }
    }
    std::lock_guard<std::mutex> lock(mu);
    reader_done = true;
    cv.notify_all();
  }

  void on_started(const pb::SessionStarted& started) {
    artalk_event e{};
    if (names.empty()) {
      names.assign(started.channel_names().begin(), started.channel_names().end());
      rotation.assign(names.size(), false);
      for (const std::string& r : started.rotation_channels()) {
        auto it = std::find(names.begin(), names.end(), r);
        if (it != names.end()) rotation[static_cast<std::size_t>(it - names.begin())] = true;
      }
      fps = static_cast<int>(started.fps());
      latency_total = started.latency().total_seconds();
      JitterBufferOptions jb;
      jb.channels = static_cast<int>(names.size());
      jb.fps = fps;
      jb.keep_seconds = opt.keep_seconds;
      jb.release_seconds = opt.release_seconds;
      buffer.reset(jb);
      buffer.set_expected_until(seconds(samples_pushed));
      e.type = ARTALK_EVENT_STARTED;
    } else {
      e.type = ARTALK_EVENT_RECONNECTED;
      e.attempt = attempt;
    }
    state = ARTALK_STATE_STREAMING;
    push_event(e);
    cv.notify_all();
  }

  void on_frames(const pb::FrameBatch& batch) {
    const double offset = seconds(call_offset);
    const double arrival = now_seconds();
    const int utterance = call_base + static_cast<int>(batch.utterance_index());
    for (const pb::Frame& frame : batch.frames()) {
      const double t = frame.time_code() + offset;
      if (t <= newest + 1e-9 || static_cast<std::size_t>(frame.values_size()) != names.size()) {
        ++frames_dropped;  // re-sent audio animated again after a reconnect
        continue;
      }
      newest = t;
      call_progress = true;
      if (!buffer.push(t, frame.values().data())) ++frames_dropped;  // in a cancelled span
      ++frames_received;
      ++utterance_frames[utterance];
      if (opt.record_frames) {
        rec_times.push_back(t);
        rec_values.insert(rec_values.end(), frame.values().begin(), frame.values().end());
      }
      record_latency(t, arrival);
    }
  }

  void record_latency(double t, double arrival) {
    const auto s = static_cast<std::int64_t>(std::floor(t * opt.sample_rate_hz));
    auto it = write_wall.upper_bound(s);  // the first written chunk ending after the frame's sample
    if (it == write_wall.end()) {
      if (write_wall.empty()) return;
      it = std::prev(write_wall.end());
    }
    const double spoken = it->second - seconds(it->first - s);
    const double latency = arrival - spoken;
    if (first_frame_latency < 0 && first_write_wall >= 0) first_frame_latency = arrival - first_write_wall;
    latencies[latency_count % latencies.size()] = latency;
    ++latency_count;
    // Forget chunks far behind the newest frame.
    const auto horizon = s - static_cast<std::int64_t>(10.0 * opt.sample_rate_hz);
    while (!write_wall.empty() && write_wall.begin()->first < horizon) write_wall.erase(write_wall.begin());
  }

  void on_utterance_finished(const pb::UtteranceFinished& u) {
    const int global = call_base + static_cast<int>(u.utterance_index());
    // Everything of this utterance (and older) is animated: it will never be re-sent.
    std::size_t erased = 0;
    while (!log.empty() && log.front().kind != Item::kEnd && log.front().utterance <= global) {
      log.pop_front();
      ++erased;
    }
    sent -= std::min(sent, erased);
    call_progress = true;
    artalk_event e{};
    e.type = ARTALK_EVENT_UTTERANCE_FINISHED;
    e.utterance_index = global;
    e.frame_count = utterance_frames[global];
    e.cancelled = u.cancelled() ? 1 : 0;
    e.start_time = u.start_time() + seconds(call_offset);
    e.end_time = u.end_time() + seconds(call_offset);
    utterance_frames.erase(utterance_frames.begin(), utterance_frames.upper_bound(global));
    ++utterances_finished;
    push_event(e);
  }

  // ------------------------------------------------------------ API helpers

  int writable_locked() const {
    if (closing) return ARTALK_ERR_CLOSED;
    if (state == ARTALK_STATE_FAILED) return ARTALK_ERR_FAILED;
    if (end_pushed || state == ARTALK_STATE_FINISHED) return ARTALK_ERR_STATE;
    return ARTALK_OK;
  }

  std::int64_t queued_samples_locked() const {
    std::int64_t n = 0;
    for (std::size_t i = sent; i < log.size(); ++i) n += log[i].samples;
    return n;
  }

  void push_control_locked(Item::Kind kind) {
    Item item;
    item.kind = kind;
    item.sample_start = samples_pushed;
    item.utterance = utterance_pushed;
    log.push_back(std::move(item));
    if (kind == Item::kFlush || kind == Item::kCancel) ++utterance_pushed;
    cv.notify_all();
  }
};

// ---------------------------------------------------------------- Session

Session::Session(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

std::unique_ptr<Session> Session::open(const SessionOptions& options, std::string* error) {
  std::string problem = options.validate();
  const auto credentials = problem.empty() ? channel_credentials(options, &problem) : nullptr;
  if (!credentials) {
    if (error) *error = problem;
    return nullptr;
  }
  auto impl = std::make_unique<Impl>();
  impl->opt = options;
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(32 * 1024 * 1024);
  args.SetMaxSendMessageSize(32 * 1024 * 1024);
  // Reconnect the transport quickly: the session has its own backoff on top.
  args.SetInt("grpc.initial_reconnect_backoff_ms", 100);
  args.SetInt("grpc.min_reconnect_backoff_ms", 100);
  args.SetInt("grpc.max_reconnect_backoff_ms", 2000);
  if (!options.tls_server_name.empty()) args.SetSslTargetNameOverride(options.tls_server_name);
  impl->channel = grpc::CreateCustomChannel(options.target, credentials, args);
  impl->stub = pb::Animation::NewStub(impl->channel);
  Impl* raw = impl.get();
  std::unique_ptr<Session> session(new Session(std::move(impl)));
  raw->worker = std::thread([raw] { raw->run(); });
  return session;
}

Session::~Session() { close(); }

void Session::close() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->closing = true;
    if (impl_->live_call) impl_->live_call->context.TryCancel();
    impl_->cv.notify_all();
  }
  if (impl_->worker.joinable()) impl_->worker.join();
}

int Session::state() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->closing ? ARTALK_STATE_CLOSED : impl_->state;
}

int Session::wait_started(double timeout_seconds) {
  std::unique_lock<std::mutex> lock(impl_->mu);
  const bool done = impl_->cv.wait_for(lock, std::chrono::duration<double>(timeout_seconds), [this] {
    return !impl_->names.empty() || impl_->state == ARTALK_STATE_FAILED || impl_->closing;
  });
  if (!impl_->names.empty()) return ARTALK_OK;
  if (impl_->closing) return ARTALK_ERR_CLOSED;
  if (impl_->state == ARTALK_STATE_FAILED) return ARTALK_ERR_FAILED;
  return done ? ARTALK_OK : ARTALK_ERR_TIMEOUT;
}

int Session::wait_finished(double timeout_seconds) {
  std::unique_lock<std::mutex> lock(impl_->mu);
  impl_->cv.wait_for(lock, std::chrono::duration<double>(timeout_seconds), [this] {
    return impl_->state == ARTALK_STATE_FINISHED || impl_->state == ARTALK_STATE_FAILED || impl_->closing;
  });
  if (impl_->state == ARTALK_STATE_FINISHED) return ARTALK_OK;
  if (impl_->closing) return ARTALK_ERR_CLOSED;
  if (impl_->state == ARTALK_STATE_FAILED) return ARTALK_ERR_FAILED;
  return ARTALK_ERR_TIMEOUT;
}

int Session::channel_count() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->names.empty() ? -1 : static_cast<int>(impl_->names.size());
}

std::string Session::channel_name(int index) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (index < 0 || static_cast<std::size_t>(index) >= impl_->names.size()) return "";
  return impl_->names[static_cast<std::size_t>(index)];
}

bool Session::channel_is_rotation(int index) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return index >= 0 && static_cast<std::size_t>(index) < impl_->rotation.size() &&
         impl_->rotation[static_cast<std::size_t>(index)];
}

int Session::fps() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->fps;
}

double Session::algorithmic_latency() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->latency_total;
}

int Session::push_audio(const void* data, std::size_t bytes, double* time_code) {
  Impl& s = *impl_;
  const std::size_t frame_bytes = static_cast<std::size_t>(s.opt.bytes_per_frame());
  if ((data == nullptr && bytes > 0) || bytes % frame_bytes != 0) {
    std::lock_guard<std::mutex> lock(s.mu);
    s.last_error = "push_audio needs whole sample frames of " + std::to_string(frame_bytes) + " bytes";
    return ARTALK_ERR_INVALID_ARGUMENT;
  }
  std::lock_guard<std::mutex> lock(s.mu);
  if (const int r = s.writable_locked(); r != ARTALK_OK) return r;
  const auto frames = static_cast<std::int64_t>(bytes / frame_bytes);
  if (static_cast<double>(s.queued_samples_locked() + frames) > s.opt.max_queued_seconds * s.opt.sample_rate_hz) {
    s.last_error = "more than " + std::to_string(s.opt.max_queued_seconds) + " s of audio queued; push dropped";
    return ARTALK_ERR_BUFFER_FULL;
  }
  if (time_code) *time_code = s.seconds(s.samples_pushed);
  const auto chunk = std::max<std::int64_t>(1, static_cast<std::int64_t>(s.opt.chunk_seconds * s.opt.sample_rate_hz));
  const auto* bytes_in = static_cast<const char*>(data);
  for (std::int64_t done = 0; done < frames; done += chunk) {
    Item item;
    item.kind = Item::kAudio;
    item.sample_start = s.samples_pushed;
    item.samples = std::min(chunk, frames - done);
    item.utterance = s.utterance_pushed;
    item.bytes.assign(bytes_in + done * static_cast<std::int64_t>(frame_bytes),
                      static_cast<std::size_t>(item.samples) * frame_bytes);
    s.samples_pushed += item.samples;
    s.log.push_back(std::move(item));
  }
  s.buffer.set_expected_until(s.seconds(s.samples_pushed));
  s.cv.notify_all();
  return ARTALK_OK;
}

double Session::audio_time() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->seconds(impl_->samples_pushed);
}

int Session::flush() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (const int r = impl_->writable_locked(); r != ARTALK_OK) return r;
  impl_->push_control_locked(Item::kFlush);
  return ARTALK_OK;
}

int Session::cancel() {
  Impl& s = *impl_;
  std::lock_guard<std::mutex> lock(s.mu);
  if (const int r = s.writable_locked(); r != ARTALK_OK) return r;
  // Locally: nothing after what the engine has shown survives; the server drops the rest.
  s.buffer.cut(s.buffer.last_playback_time(), s.seconds(s.samples_pushed));
  s.push_control_locked(Item::kCancel);
  return ARTALK_OK;
}

int Session::end() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (const int r = impl_->writable_locked(); r != ARTALK_OK) return r;
  impl_->push_control_locked(Item::kEnd);
  impl_->end_pushed = true;
  return ARTALK_OK;
}

int Session::sample(double playback_time, float* values, int capacity) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  const int n = static_cast<int>(impl_->names.size());
  if (n == 0) return ARTALK_ERR_STATE;
  if (values == nullptr || capacity < n || !std::isfinite(playback_time)) return ARTALK_ERR_INVALID_ARGUMENT;
  return static_cast<int>(impl_->buffer.sample(playback_time, values));
}

int Session::read_frames(double* time_codes, float* values, int max_frames, int capacity_per_frame) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  const auto n = static_cast<int>(impl_->names.size());
  if (!impl_->opt.record_frames) return ARTALK_ERR_STATE;
  if (max_frames < 0 || (max_frames > 0 && (time_codes == nullptr || values == nullptr)) || capacity_per_frame < n)
    return ARTALK_ERR_INVALID_ARGUMENT;
  int count = 0;
  while (count < max_frames && !impl_->rec_times.empty()) {
    time_codes[count] = impl_->rec_times.front();
    impl_->rec_times.pop_front();
    auto first = impl_->rec_values.begin();
    std::copy(first, first + n, values + static_cast<std::ptrdiff_t>(count) * capacity_per_frame);
    impl_->rec_values.erase(first, first + n);
    ++count;
  }
  return count;
}

bool Session::poll_event(artalk_event* event) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (impl_->events.empty() || event == nullptr) return false;
  *event = impl_->events.front();
  impl_->events.pop_front();
  return true;
}

artalk_stats Session::stats() const {
  const Impl& s = *impl_;
  std::lock_guard<std::mutex> lock(s.mu);
  artalk_stats out{};
  out.frames_received = s.frames_received;
  out.frames_late = s.buffer.frames_late();
  out.samples_late = s.buffer.samples_late();
  out.reconnects = s.reconnects;
  out.frames_dropped = s.frames_dropped;
  out.utterances = s.utterances_finished;
  out.audio_pushed_seconds = s.seconds(s.samples_pushed);
  out.audio_sent_seconds = s.seconds(s.samples_sent_end);
  const double played = std::max(0.0, s.buffer.last_playback_time());
  out.buffered_seconds = s.frames_received > 0 ? std::max(0.0, s.newest - played) : 0.0;
  out.first_frame_latency_seconds = s.first_frame_latency;
  out.latency_p50_seconds = out.latency_p95_seconds = out.latency_max_seconds = -1.0;
  const std::size_t n = std::min(s.latency_count, s.latencies.size());
  if (n > 0) {
    std::vector<double> v(s.latencies.begin(), s.latencies.begin() + static_cast<std::ptrdiff_t>(n));
    std::sort(v.begin(), v.end());
    auto pct = [&v](double q) { return v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5)]; };
    out.latency_p50_seconds = pct(0.50);
    out.latency_p95_seconds = pct(0.95);
    out.latency_max_seconds = v.back();
  }
  out.newest_frame_time = s.frames_received > 0 ? s.newest : -1.0;
  return out;
}

std::string Session::last_error() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->last_error;
}

}  // namespace artalk
