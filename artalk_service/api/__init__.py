"""Generated gRPC code of the artalk.v1 contract (proto/artalk/v1). Do not edit:
run `python tools/gen_proto.py`; tests/test_proto.py fails when it is stale."""
