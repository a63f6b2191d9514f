package chat_test

import (
	"fmt"

	"github.com/zoomr-go/zoomr/model/chat"
)

// A ChatML template with Qwen3's thinking switch, as a tokenizer_config.json carries it.
const tokenizerConfig = `{
  "eos_token": {"content": "<|im_end|>"},
  "chat_template": "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% if enable_thinking is defined and not enable_thinking %}<think>\n\n</think>\n\n{% else %}<think>\n{% endif %}{% endif %}"
}`

func Example() {
	tpl, err := chat.FromTokenizerConfig([]byte(tokenizerConfig), "")
	if err != nil {
		fmt.Println(err)
		return
	}
	msgs := []chat.Message{
		{Role: "system", Content: "Answer in one word."},
		{Role: "user", Content: "Capital of France?"},
	}
	prompt, err := tpl.Render(msgs, chat.Options{AddGenerationPrompt: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(prompt)
	inThink := chat.DefaultThink.OpensThink(prompt)
	fmt.Println("opens a think span:", inThink)

	// What the model generates after the prompt, split as an OpenAI-compatible server returns it.
	reply := chat.DefaultThink.Split("The capital of France is Paris.\n</think>\n\nParis.", inThink)
	fmt.Printf("reasoning_content: %q\ncontent: %q\n", reply.Reasoning, reply.Content)

	noThink, _ := tpl.Render(msgs, chat.Options{AddGenerationPrompt: true, Vars: map[string]any{"enable_thinking": false}})
	fmt.Println("with enable_thinking=false:", chat.DefaultThink.OpensThink(noThink))
	// Output:
	// <|im_start|>system
	// Answer in one word.<|im_end|>
	// <|im_start|>user
	// Capital of France?<|im_end|>
	// <|im_start|>assistant
	// <think>
	// opens a think span: true
	// reasoning_content: "The capital of France is Paris."
	// content: "Paris."
	// with enable_thinking=false: false
}

func ExampleTemplate_Render_error() {
	tpl, _ := chat.Parse(`{% if messages[0].role == "system" %}{{ raise_exception("System role not supported") }}{% endif %}`)
	_, err := tpl.Render([]chat.Message{{Role: "system", Content: "Hi"}}, chat.Options{})
	fmt.Println(err)
	// Output: chat template: raise_exception: System role not supported
}
