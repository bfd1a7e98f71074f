-- Tool calls (issue 17). A prompt message's tool calls and tool-result call id travel
-- inside the `prompt` JSON ([{role, content, name, tool_calls: [{id, name, arguments}],
-- tool_call_id}]); the answer's own tool calls and the tools offered to the model get
-- columns of their own. Rows written before this migration read '[]' and ''.
-- migrate:up
ALTER TABLE traces ADD COLUMN IF NOT EXISTS completion_tool_calls String DEFAULT '[]' AFTER completion;
ALTER TABLE traces ADD COLUMN IF NOT EXISTS tool_definitions String DEFAULT '' AFTER completion_tool_calls;
-- migrate:down
ALTER TABLE traces DROP COLUMN IF EXISTS tool_definitions;
ALTER TABLE traces DROP COLUMN IF EXISTS completion_tool_calls;
