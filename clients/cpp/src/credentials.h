// What a session presents to a secured server: TLS channel credentials built from
// PEM files (a client certificate for mutual TLS), and a bearer token on every call.
#pragma once

#include <memory>
#include <string>

#include <grpcpp/client_context.h>
#include <grpcpp/security/credentials.h>

#include "session.h"

namespace artalk {

// Both travel in HTTP/2 headers: visible ASCII (0x21-0x7e), bounded; "" (none) is valid.
bool valid_token(const std::string& token);
bool valid_server_name(const std::string& name);

// "" when the security options are usable, else what is wrong (never the token itself).
std::string validate_security(const SessionOptions& options);

// Plaintext, or TLS from the PEM files, read now so that a wrong path is reported when the
// session opens. nullptr, with *error naming the file and the problem, when one cannot be used.
std::shared_ptr<grpc::ChannelCredentials> channel_credentials(const SessionOptions& options, std::string* error);

// Adds "authorization: Bearer <token>" when the options carry a token.
void authorize(const SessionOptions& options, grpc::ClientContext* context);

// A hint appended to a connection failure: what the TLS settings imply about its cause.
const char* connection_hint(const SessionOptions& options);

}  // namespace artalk
