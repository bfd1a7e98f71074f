from vigil_protos.v1 import events_pb2 as _events_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetPromptRequest(_message.Message):
    __slots__ = ("name", "label")
    NAME_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    name: str
    label: str
    def __init__(self, name: _Optional[str] = ..., label: _Optional[str] = ...) -> None: ...

class PromptVersion(_message.Message):
    __slots__ = ("name", "version", "kind", "messages", "template", "model", "params_json", "content_hash")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PARAMS_JSON_FIELD_NUMBER: _ClassVar[int]
    CONTENT_HASH_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: int
    kind: str
    messages: _containers.RepeatedCompositeFieldContainer[_events_pb2.Message]
    template: str
    model: str
    params_json: str
    content_hash: str
    def __init__(self, name: _Optional[str] = ..., version: _Optional[int] = ..., kind: _Optional[str] = ..., messages: _Optional[_Iterable[_Union[_events_pb2.Message, _Mapping]]] = ..., template: _Optional[str] = ..., model: _Optional[str] = ..., params_json: _Optional[str] = ..., content_hash: _Optional[str] = ...) -> None: ...

class SegmentValues(_message.Message):
    __slots__ = ("values",)
    VALUES_FIELD_NUMBER: _ClassVar[int]
    values: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, values: _Optional[_Iterable[str]] = ...) -> None: ...

class Rollout(_message.Message):
    __slots__ = ("rollout_id", "candidate", "percent", "split_by", "segment", "guards", "control_version")
    class SegmentEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: SegmentValues
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[SegmentValues, _Mapping]] = ...) -> None: ...
    ROLLOUT_ID_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_FIELD_NUMBER: _ClassVar[int]
    PERCENT_FIELD_NUMBER: _ClassVar[int]
    SPLIT_BY_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    GUARDS_FIELD_NUMBER: _ClassVar[int]
    CONTROL_VERSION_FIELD_NUMBER: _ClassVar[int]
    rollout_id: str
    candidate: PromptVersion
    percent: float
    split_by: str
    segment: _containers.MessageMap[str, SegmentValues]
    guards: _containers.RepeatedScalarFieldContainer[str]
    control_version: int
    def __init__(self, rollout_id: _Optional[str] = ..., candidate: _Optional[_Union[PromptVersion, _Mapping]] = ..., percent: _Optional[float] = ..., split_by: _Optional[str] = ..., segment: _Optional[_Mapping[str, SegmentValues]] = ..., guards: _Optional[_Iterable[str]] = ..., control_version: _Optional[int] = ...) -> None: ...

class GetPromptResponse(_message.Message):
    __slots__ = ("label", "prompt", "rollout")
    LABEL_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    ROLLOUT_FIELD_NUMBER: _ClassVar[int]
    label: str
    prompt: PromptVersion
    rollout: Rollout
    def __init__(self, label: _Optional[str] = ..., prompt: _Optional[_Union[PromptVersion, _Mapping]] = ..., rollout: _Optional[_Union[Rollout, _Mapping]] = ...) -> None: ...
