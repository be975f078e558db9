package chat

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tinyLlama is the chat template of TinyLlama-1.1B-Chat (Zephyr's format),
// laid out on lines as on the hub: HF renders it with trim_blocks and
// lstrip_blocks, so only the expression tags' newlines reach the output.
const tinyLlama = `{% for message in messages %}
{% if message['role'] == 'user' %}
{{ '<|user|>\n' + message['content'] + eos_token }}
{% elif message['role'] == 'system' %}
{{ '<|system|>\n' + message['content'] + eos_token }}
{% elif message['role'] == 'assistant' %}
{{ '<|assistant|>\n'  + message['content'] + eos_token }}
{% endif %}
{% if loop.last and add_generation_prompt %}
{{ '<|assistant|>' }}
{% endif %}
{% endfor %}`

// chatML is the ChatML format of Qwen and SmolLM instruct models.
const chatML = `{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}`

// alternating raises an error, as Llama 2's template does, when roles do
// not alternate.
const alternating = `{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% else %}{{ ' ' + message['content'] + ' ' + eos_token }}{% endif %}{% endfor %}`

func TestRender(t *testing.T) {
	sp := map[string]string{"bos_token": "<s>", "eos_token": "</s>"}
	sys, user, asst := Message{Role: "system", Content: "You are kind."}, Message{Role: "user", Content: "Hi!"}, Message{Role: "assistant", Content: "Hello."}
	tests := []struct {
		name    string
		src     string
		msgs    []Message
		gen     bool
		want    string
		errWith string
	}{
		{"zephyr", tinyLlama, []Message{sys, user}, true, "<|system|>\nYou are kind.</s>\n<|user|>\nHi!</s>\n<|assistant|>\n", ""},
		{"zephyr no prompt", tinyLlama, []Message{user, asst}, false, "<|user|>\nHi!</s>\n<|assistant|>\nHello.</s>\n", ""},
		{"chatml", chatML, []Message{user}, true, "<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n", ""},
		{"chatml empty", chatML, nil, false, "", ""},
		{"llama2", alternating, []Message{user, asst, user}, false, "<s>[INST] Hi! [/INST] Hello. </s>[INST] Hi! [/INST]", ""},
		{"llama2 out of order", alternating, []Message{asst}, false, "", "roles must alternate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl, err := New(tt.src, sp)
			if err != nil {
				t.Fatal(err)
			}
			got, err := tmpl.Render(tt.msgs, tt.gen)
			if tt.errWith != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errWith) {
					t.Fatalf("error %v, want one with %q", err, tt.errWith)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Render = %q, %v\nwant     %q", got, err, tt.want)
			}
		})
	}
	if _, err := New("{% for %}", nil); err == nil {
		t.Error("New compiled a broken template")
	}
	if _, err := New(" \n", nil); !errors.Is(err, ErrNoTemplate) {
		t.Errorf("New of a blank template: %v", err)
	}
}

func TestLoad(t *testing.T) {
	write := func(t *testing.T, files map[string]string) string {
		dir := t.TempDir()
		for name, body := range files {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	const tmplJSON = `"{{ bos_token }}{% for m in messages %}{{ m.content + eos_token }}{% endfor %}"`
	msgs := []Message{{Role: "user", Content: "a"}, {Role: "assistant", Content: "b"}}
	tests := []struct {
		name    string
		files   map[string]string
		want    string
		errWith string
		noTmpl  bool
	}{
		{"config string", map[string]string{ConfigFile: `{"bos_token": "<s>", "eos_token": "</s>", "chat_template": ` + tmplJSON + `}`}, "<s>a</s>b</s>", "", false},
		{"added-token objects", map[string]string{ConfigFile: `{"bos_token": {"content": "<s>", "lstrip": false}, "eos_token": {"content": "</s>"}, "chat_template": ` + tmplJSON + `}`}, "<s>a</s>b</s>", "", false},
		{"named templates", map[string]string{ConfigFile: `{"bos_token": "<s>", "eos_token": "!", "chat_template": [{"name": "tool_use", "template": "x"}, {"name": "default", "template": ` + tmplJSON + `}]}`}, "<s>a!b!", "", false},
		{"jinja file wins", map[string]string{ConfigFile: `{"eos_token": "|", "chat_template": "ignored"}`, TemplateFile: "{% for m in messages %}{{ m.role }}{{ eos_token }}{% endfor %}"}, "user|assistant|", "", false},
		{"jinja file alone", map[string]string{TemplateFile: "{{ messages | length }}"}, "2", "", false},
		{"base model", map[string]string{ConfigFile: `{"bos_token": "<s>"}`}, "", "", true},
		{"null template", map[string]string{ConfigFile: `{"chat_template": null}`}, "", "", true},
		{"empty folder", map[string]string{}, "", "", true},
		{"bad json", map[string]string{ConfigFile: `{"chat_template": `}, "", "tokenizer_config.json", false},
		{"bad token", map[string]string{ConfigFile: `{"eos_token": 7, "chat_template": "x"}`}, "", "eos_token", false},
		{"no default", map[string]string{ConfigFile: `{"chat_template": [{"name": "rag", "template": "x"}]}`}, "", `no template named "default"`, false},
		{"bad template type", map[string]string{ConfigFile: `{"chat_template": 3}`}, "", "chat_template", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl, err := Load(write(t, tt.files))
			switch {
			case tt.noTmpl:
				if !errors.Is(err, ErrNoTemplate) {
					t.Fatalf("error %v, want ErrNoTemplate", err)
				}
				return
			case tt.errWith != "":
				if err == nil || !strings.Contains(err.Error(), tt.errWith) {
					t.Fatalf("error %v, want one with %q", err, tt.errWith)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			if got, err := tmpl.Render(msgs, false); err != nil || got != tt.want {
				t.Fatalf("Render = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// FuzzParseConfig feeds arbitrary tokenizer_config.json bytes to
// ParseConfig: it must return a template or an error, never panic. (The
// template is compiled, not rendered: a template is a program and may loop
// for as long as its author wrote it to.)
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(`{"bos_token": "<s>", "chat_template": "{{ bos_token }}{% for m in messages %}{{ m.content }}{% endfor %}"}`))
	f.Add([]byte(`{"eos_token": {"content": "</s>"}, "chat_template": [{"name": "default", "template": "{% if x %}y{% endif %}"}]}`))
	f.Add([]byte(`{"chat_template": "{% for %}"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		tmpl, err := ParseConfig(b)
		if err == nil && tmpl == nil {
			t.Fatal("nil template without an error")
		}
	})
}

// TestRenderTools: tools reach the template as "tools", an assistant's
// calls as transformers' tool_calls (arguments decoded when they are an
// object), a tool turn with its tool_call_id.
func TestRenderTools(t *testing.T) {
	src := `{%- if tools %}<tools>{% for t in tools %}{{ t.function.name }};{% endfor %}</tools>{% endif %}` +
		`{% for m in messages %}[{{ m.role }}]{% if m.tool_calls %}{% for c in m.tool_calls %}{{ c.id }}:{{ c.function.name }}({{ c.function.arguments | tojson }}){% endfor %}` +
		`{% else %}{{ m.content }}{% endif %}{% if m.tool_call_id %}#{{ m.tool_call_id }}{% endif %}{% endfor %}`
	tmpl, err := New(src, nil)
	if err != nil {
		t.Fatal(err)
	}
	msgs := []Message{
		{Role: "user", Content: "weather?"},
		{Role: "assistant", ToolCalls: []ToolCall{{ID: "c1", Name: "get_weather", Arguments: `{"city":"Paris"}`}}},
		{Role: "tool", Content: "sunny", ToolCallID: "c1"},
	}
	tools := []json.RawMessage{json.RawMessage(`{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}`)}
	for _, tc := range []struct {
		name  string
		tools []json.RawMessage
		want  string
	}{
		{"tools", tools, `<tools>get_weather;</tools>[user]weather?[assistant]c1:get_weather({"city": "Paris"})[tool]sunny#c1`},
		{"no tools", nil, `[user]weather?[assistant]c1:get_weather({"city": "Paris"})[tool]sunny#c1`},
	} {
		got, err := tmpl.RenderWith(msgs, RenderOptions{Tools: tc.tools})
		if err != nil || got != tc.want {
			t.Errorf("%s: %q, %v\nwant %q", tc.name, got, err, tc.want)
		}
	}
	if !tmpl.TakesTools() {
		t.Error("TakesTools is false for a template that reads tools")
	}
	if _, err := tmpl.RenderWith(msgs, RenderOptions{Tools: []json.RawMessage{json.RawMessage(`{`)}}); err == nil {
		t.Error("a tool that is not JSON rendered")
	}
}
