from artalk_service.api.artalk.v1 import animation_pb2 as _animation_pb2
from google.protobuf import descriptor as _descriptor
from typing import ClassVar as _ClassVar

DESCRIPTOR: _descriptor.FileDescriptor
