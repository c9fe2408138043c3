"""The gRPC service: contract handlers, request validation, server start-up."""
