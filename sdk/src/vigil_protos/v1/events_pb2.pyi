import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TraceStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRACE_STATUS_UNSPECIFIED: _ClassVar[TraceStatus]
    TRACE_STATUS_OK: _ClassVar[TraceStatus]
    TRACE_STATUS_ERROR: _ClassVar[TraceStatus]

class FeedbackKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FEEDBACK_KIND_UNSPECIFIED: _ClassVar[FeedbackKind]
    FEEDBACK_KIND_THUMBS: _ClassVar[FeedbackKind]
    FEEDBACK_KIND_SCORE: _ClassVar[FeedbackKind]
    FEEDBACK_KIND_TEXT: _ClassVar[FeedbackKind]
TRACE_STATUS_UNSPECIFIED: TraceStatus
TRACE_STATUS_OK: TraceStatus
TRACE_STATUS_ERROR: TraceStatus
FEEDBACK_KIND_UNSPECIFIED: FeedbackKind
FEEDBACK_KIND_THUMBS: FeedbackKind
FEEDBACK_KIND_SCORE: FeedbackKind
FEEDBACK_KIND_TEXT: FeedbackKind

class ToolCall(_message.Message):
    __slots__ = ("id", "name", "arguments")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ARGUMENTS_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    arguments: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., arguments: _Optional[str] = ...) -> None: ...

class Message(_message.Message):
    __slots__ = ("role", "content", "name", "tool_calls", "tool_call_id")
    ROLE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TOOL_CALLS_FIELD_NUMBER: _ClassVar[int]
    TOOL_CALL_ID_FIELD_NUMBER: _ClassVar[int]
    role: str
    content: str
    name: str
    tool_calls: _containers.RepeatedCompositeFieldContainer[ToolCall]
    tool_call_id: str
    def __init__(self, role: _Optional[str] = ..., content: _Optional[str] = ..., name: _Optional[str] = ..., tool_calls: _Optional[_Iterable[_Union[ToolCall, _Mapping]]] = ..., tool_call_id: _Optional[str] = ...) -> None: ...

class RequestParams(_message.Message):
    __slots__ = ("temperature", "top_p", "max_tokens", "stop", "response_format", "seed")
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    TOP_P_FIELD_NUMBER: _ClassVar[int]
    MAX_TOKENS_FIELD_NUMBER: _ClassVar[int]
    STOP_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FORMAT_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    temperature: float
    top_p: float
    max_tokens: int
    stop: _containers.RepeatedScalarFieldContainer[str]
    response_format: str
    seed: int
    def __init__(self, temperature: _Optional[float] = ..., top_p: _Optional[float] = ..., max_tokens: _Optional[int] = ..., stop: _Optional[_Iterable[str]] = ..., response_format: _Optional[str] = ..., seed: _Optional[int] = ...) -> None: ...

class TraceEvent(_message.Message):
    __slots__ = ("event_id", "trace_id", "span_id", "parent_span_id", "session_id", "user_id", "app", "environment", "start_time", "end_time", "provider", "model", "params", "prompt", "completion", "finish_reason", "prompt_template_id", "prompt_template_version", "input_tokens", "output_tokens", "cached_input_tokens", "status", "error_type", "error_message", "attributes", "completion_tool_calls", "tool_definitions")
    class AttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    TRACE_ID_FIELD_NUMBER: _ClassVar[int]
    SPAN_ID_FIELD_NUMBER: _ClassVar[int]
    PARENT_SPAN_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    APP_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    COMPLETION_FIELD_NUMBER: _ClassVar[int]
    FINISH_REASON_FIELD_NUMBER: _ClassVar[int]
    PROMPT_TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    PROMPT_TEMPLATE_VERSION_FIELD_NUMBER: _ClassVar[int]
    INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    CACHED_INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ERROR_TYPE_FIELD_NUMBER: _ClassVar[int]
    ERROR_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    COMPLETION_TOOL_CALLS_FIELD_NUMBER: _ClassVar[int]
    TOOL_DEFINITIONS_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    trace_id: str
    span_id: str
    parent_span_id: str
    session_id: str
    user_id: str
    app: str
    environment: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    provider: str
    model: str
    params: RequestParams
    prompt: _containers.RepeatedCompositeFieldContainer[Message]
    completion: str
    finish_reason: str
    prompt_template_id: str
    prompt_template_version: str
    input_tokens: int
    output_tokens: int
    cached_input_tokens: int
    status: TraceStatus
    error_type: str
    error_message: str
    attributes: _containers.ScalarMap[str, str]
    completion_tool_calls: _containers.RepeatedCompositeFieldContainer[ToolCall]
    tool_definitions: str
    def __init__(self, event_id: _Optional[str] = ..., trace_id: _Optional[str] = ..., span_id: _Optional[str] = ..., parent_span_id: _Optional[str] = ..., session_id: _Optional[str] = ..., user_id: _Optional[str] = ..., app: _Optional[str] = ..., environment: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., provider: _Optional[str] = ..., model: _Optional[str] = ..., params: _Optional[_Union[RequestParams, _Mapping]] = ..., prompt: _Optional[_Iterable[_Union[Message, _Mapping]]] = ..., completion: _Optional[str] = ..., finish_reason: _Optional[str] = ..., prompt_template_id: _Optional[str] = ..., prompt_template_version: _Optional[str] = ..., input_tokens: _Optional[int] = ..., output_tokens: _Optional[int] = ..., cached_input_tokens: _Optional[int] = ..., status: _Optional[_Union[TraceStatus, str]] = ..., error_type: _Optional[str] = ..., error_message: _Optional[str] = ..., attributes: _Optional[_Mapping[str, str]] = ..., completion_tool_calls: _Optional[_Iterable[_Union[ToolCall, _Mapping]]] = ..., tool_definitions: _Optional[str] = ...) -> None: ...

class FeedbackEvent(_message.Message):
    __slots__ = ("feedback_id", "trace_id", "kind", "value", "comment", "user_id", "time")
    FEEDBACK_ID_FIELD_NUMBER: _ClassVar[int]
    TRACE_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    feedback_id: str
    trace_id: str
    kind: FeedbackKind
    value: float
    comment: str
    user_id: str
    time: _timestamp_pb2.Timestamp
    def __init__(self, feedback_id: _Optional[str] = ..., trace_id: _Optional[str] = ..., kind: _Optional[_Union[FeedbackKind, str]] = ..., value: _Optional[float] = ..., comment: _Optional[str] = ..., user_id: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class TraceBatch(_message.Message):
    __slots__ = ("project_id", "received_at", "events")
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_AT_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    project_id: str
    received_at: _timestamp_pb2.Timestamp
    events: _containers.RepeatedCompositeFieldContainer[TraceEvent]
    def __init__(self, project_id: _Optional[str] = ..., received_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., events: _Optional[_Iterable[_Union[TraceEvent, _Mapping]]] = ...) -> None: ...

class FeedbackRecord(_message.Message):
    __slots__ = ("project_id", "received_at", "feedback")
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_AT_FIELD_NUMBER: _ClassVar[int]
    FEEDBACK_FIELD_NUMBER: _ClassVar[int]
    project_id: str
    received_at: _timestamp_pb2.Timestamp
    feedback: FeedbackEvent
    def __init__(self, project_id: _Optional[str] = ..., received_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., feedback: _Optional[_Union[FeedbackEvent, _Mapping]] = ...) -> None: ...
