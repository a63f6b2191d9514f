package api

// Usage counts a generation's tokens, with ZoomR's own numbers in an extension object.
type Usage struct {
	PromptTokens     int         `json:"prompt_tokens"`
	CompletionTokens int         `json:"completion_tokens"`
	TotalTokens      int         `json:"total_tokens"`
	ZoomR            *ZoomRUsage `json:"zoomr,omitempty"`
}

// ZoomRUsage is the extension: what the bounded KV cache did for this generation (zoomr.Stats).
type ZoomRUsage struct {
	Policy              string  `json:"policy"`
	PeakResidentKVBytes int64   `json:"peak_resident_kv_bytes"` // the active context: what an accelerator holds
	PeakHostKVBytes     int64   `json:"peak_host_kv_bytes"`     // the host store of every position
	TokensPerSecond     float64 `json:"tokens_per_second"`      // decode rate, after the prompt
	Reselections        int     `json:"reselections"`           // zoomed sets chosen
	PrefillSeconds      float64 `json:"prefill_seconds"`
	DecodeSeconds       float64 `json:"decode_seconds"`
}

// ChatCompletion is a non-streamed chat response.
type ChatCompletion struct {
	ID      string       `json:"id"`
	Object  string       `json:"object"` // "chat.completion"
	Created int64        `json:"created"`
	Model   string       `json:"model"`
	Choices []ChatChoice `json:"choices"`
	Usage   *Usage       `json:"usage,omitempty"`
}

// ChatChoice is the one choice of a chat response.
type ChatChoice struct {
	Index        int         `json:"index"`
	Message      ChatMessage `json:"message"`
	FinishReason string      `json:"finish_reason"` // "stop" or "length"
	TokenIDs     []int       `json:"token_ids,omitempty"`
}

// ChatMessage is the assistant's reply: the answer, and a reasoning model's thinking beside it.
type ChatMessage struct {
	Role             string `json:"role"`
	Content          string `json:"content"`
	ReasoningContent string `json:"reasoning_content,omitempty"`
}

// ChatCompletionChunk is one server-sent event of a streamed chat response.
type ChatCompletionChunk struct {
	ID      string        `json:"id"`
	Object  string        `json:"object"` // "chat.completion.chunk"
	Created int64         `json:"created"`
	Model   string        `json:"model"`
	Choices []ChunkChoice `json:"choices"` // empty in the usage chunk
	Usage   *Usage        `json:"usage,omitempty"`
}

// ChunkChoice is a streamed choice's delta; FinishReason is null until the last one.
type ChunkChoice struct {
	Index        int     `json:"index"`
	Delta        Delta   `json:"delta"`
	FinishReason *string `json:"finish_reason"`
	TokenIDs     []int   `json:"token_ids,omitempty"`
}

// Delta is the text a chunk adds.
type Delta struct {
	Role             string  `json:"role,omitempty"`
	Content          *string `json:"content,omitempty"`
	ReasoningContent *string `json:"reasoning_content,omitempty"`
}

// Completion is a text completion response, and (Object "text_completion" too) each event of a
// streamed one.
type Completion struct {
	ID      string             `json:"id"`
	Object  string             `json:"object"` // "text_completion"
	Created int64              `json:"created"`
	Model   string             `json:"model"`
	Choices []CompletionChoice `json:"choices"`
	Usage   *Usage             `json:"usage,omitempty"`
}

// CompletionChoice is the one choice of a completion; FinishReason is null in a stream until the
// last event.
type CompletionChoice struct {
	Index        int     `json:"index"`
	Text         string  `json:"text"`
	Logprobs     any     `json:"logprobs"` // always null
	FinishReason *string `json:"finish_reason"`
	TokenIDs     []int   `json:"token_ids,omitempty"`
}

// ModelList is GET /v1/models.
type ModelList struct {
	Object string  `json:"object"` // "list"
	Data   []Model `json:"data"`
}

// Model describes the served model.
type Model struct {
	ID      string `json:"id"`
	Object  string `json:"object"` // "model"
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

// Health is GET /health.
type Health struct {
	Status  string `json:"status"` // "ok", or "draining" (with 503)
	Model   string `json:"model"`
	Running int    `json:"running"` // generations prefilling or decoding
	Waiting int    `json:"waiting"` // generations in the admission queue
	Steps   int64  `json:"steps"`   // batched decode steps so far
	Rows    int64  `json:"rows"`    // generation steps in them
	// The process's goroutines, resident memory (from /proc/self/status; 0 where there is none:
	// anonymous memory holds the weights and the Go heap, file-backed memory the mapped binary) and
	// Go heap objects (live and not yet collected), so a load test can watch for leaks from outside.
	Goroutines   int   `json:"goroutines"`
	RSSBytes     int64 `json:"rss_bytes"`
	RSSAnonBytes int64 `json:"rss_anon_bytes"`
	HeapBytes    int64 `json:"heap_bytes"`
	// CPUSeconds is the process's CPU time so far (user + system, /proc/self/stat; 0 where there is
	// none): per generated token it measures the server's work apart from other load on the machine.
	CPUSeconds float64 `json:"cpu_seconds"`
}
