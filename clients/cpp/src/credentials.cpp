#include "credentials.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

namespace artalk {
namespace {

// What an HTTP/2 header value carries verbatim; the server accepts the same characters in a token.
bool visible_ascii(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '!' && c <= '~'; });
}

// The file's text, or "" with *error set. PEM is text that holds at least one BEGIN line.
std::string read_pem(const std::string& path, const char* what, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = std::string("cannot read the ") + what + " file '" + path + "': " + std::strerror(errno);
    return "";
  }
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (text.find("-----BEGIN ") == std::string::npos) {
    *error = std::string("the ") + what + " file '" + path + "' is not PEM (no -----BEGIN line)";
    return "";
  }
  return text;
}

}  // namespace

bool valid_token(const std::string& token) { return token.size() <= 4096 && visible_ascii(token); }

bool valid_server_name(const std::string& name) { return name.size() <= 253 && visible_ascii(name); }

std::string validate_security(const SessionOptions& o) {
  if (o.tls_cert_file.empty() != o.tls_key_file.empty())
    return "a TLS client certificate and its private key go together: give both or neither";
  if (!o.tls && (!o.tls_ca_file.empty() || !o.tls_cert_file.empty() || !o.tls_server_name.empty()))
    return "TLS files and the TLS server name need TLS on";
  if (!valid_server_name(o.tls_server_name)) return "the TLS server name must be a host name (visible ASCII)";
  if (!valid_token(o.token)) return "the token must be visible ASCII (0x21-0x7e), at most 4096 bytes";
  return "";
}

std::shared_ptr<grpc::ChannelCredentials> channel_credentials(const SessionOptions& o, std::string* error) {
  if (!o.tls) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions ssl;  // an empty root set means the system's roots
  if (!o.tls_ca_file.empty() && (ssl.pem_root_certs = read_pem(o.tls_ca_file, "TLS CA", error)).empty())
    return nullptr;
  if (!o.tls_cert_file.empty()) {
    if ((ssl.pem_cert_chain = read_pem(o.tls_cert_file, "TLS client certificate", error)).empty()) return nullptr;
    if ((ssl.pem_private_key = read_pem(o.tls_key_file, "TLS client key", error)).empty()) return nullptr;
  }
  return grpc::SslCredentials(ssl);
}

void authorize(const SessionOptions& o, grpc::ClientContext* context) {
  if (!o.token.empty()) context->AddMetadata("authorization", "Bearer " + o.token);
}

const char* connection_hint(const SessionOptions& o) {
  return o.tls ? " (this client uses TLS: the server must serve TLS, with a certificate for this host name signed "
                 "by the CA this client trusts; a mutual-TLS server also needs a client certificate and key)"
               : " (this client connects without TLS, which a server with TLS on refuses)";
}

}  // namespace artalk
