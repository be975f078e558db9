package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glossa-ai/glossa/internal/testenv"
)

// "--model ORG/NAME" downloads into the cache HF_HOME names from the Hub
// HF_ENDPOINT names, with a progress bar, and then resolves offline.
func TestGenerateFromHub(t *testing.T) {
	fixture := testenv.Shared(t, "fixtures", "llama-tiny")
	files := map[string][]byte{}
	for _, name := range []string{"config.json", "generation_config.json", "model.safetensors"} {
		b, err := os.ReadFile(filepath.Join(fixture, name))
		if err != nil {
			t.Fatal(err)
		}
		files[name] = b
	}
	url, commit := miniHub(t, files, map[string]bool{"model.safetensors": true})
	home := t.TempDir()
	t.Setenv("HF_TOKEN", "")
	t.Setenv("HF_HUB_CACHE", "")
	t.Setenv("HF_HUB_OFFLINE", "")
	t.Setenv("HF_HOME", home)
	t.Setenv("HF_ENDPOINT", url)

	// The fixture's golden: greedy continuation of its prompt_ids.
	args := []string{"generate", "--model", "org/tiny", "--temperature", "0", "--max-new-tokens", "5",
		"--prompt-ids", "1,15,200,37,512,999,3,88", "--print-ids"}
	const want = "760 71 701 808 667\n"
	code, out, errOut := glossa(t, args...)
	if code != 0 || out != want {
		t.Fatalf("from the Hub: exit %d, stdout %q, want %q; stderr %q", code, out, want, errOut)
	}
	if !strings.Contains(errOut, "100%") {
		t.Errorf("stderr %q shows no download progress", errOut)
	}
	if snap := filepath.Join(home, "hub", "models--org--tiny", "snapshots", commit, "config.json"); !fileExists(snap) {
		t.Errorf("%s was not written", snap)
	}

	// Cached: no request is made (the endpoint now refuses connections),
	// and a pinned revision resolves too.
	t.Setenv("HF_ENDPOINT", "http://127.0.0.1:1")
	for _, ref := range []string{"org/tiny", "org/tiny@" + commit} {
		args[2] = ref
		code, out, errOut = glossa(t, args...)
		if code != 0 || out != want || errOut != "" {
			t.Errorf("%s from the cache: exit %d, stdout %q, stderr %q", ref, code, out, errOut)
		}
	}

	t.Setenv("HF_ENDPOINT", url)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--model", "org/missing", "--prompt-ids", "1", "--print-ids"}, "org/missing"},
		{[]string{"--model", "./org/tiny", "--prompt-ids", "1", "--print-ids"}, "no such file"},
		{[]string{"--model", "org/tiny", "--prompt-ids", "1,x", "--print-ids"}, "not a token id"},
		{[]string{"--model", "org/tiny", "--prompt-ids", "1000", "--print-ids"}, "outside the vocabulary"},
		{[]string{"--model", "org/tiny", "--prompt-ids", "1"}, "no tokenizer"},
		{[]string{"--model", "org/tiny", "--prompt-ids", "1", "text"}, "not both"},
		{[]string{"--model", "org/tiny", "--prompt-ids", "1", "--print-ids", "--stop", "x"}, "needs text"},
	} {
		code, _, errOut := glossa(t, append([]string{"generate"}, tc.args...)...)
		if code == 0 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%q: exit %d, stderr %q, want %q", tc.args, code, errOut, tc.want)
		}
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// --print-ids with beam search prints the best beam's ids.
func TestGeneratePrintIDsBeams(t *testing.T) {
	hf := testenv.Shared(t, "fixtures", "llama-tiny")
	code, out, errOut := glossa(t, "generate", "--model", hf, "--num-beams", "2", "--max-new-tokens", "3", "--prompt-ids", "1,15", "--print-ids")
	if code != 0 || len(strings.Fields(out)) != 3 {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestRunSession(t *testing.T) {
	model := testenv.Shared(t, "models", "stories260K", "stories260K.bin")
	tok := testenv.Shared(t, "models", "stories260K", "tok512.bin")
	dir := t.TempDir()
	session := func(lines ...string) (code int, out, errOut string) {
		t.Helper()
		in := filepath.Join(dir, "input.txt")
		if err := os.WriteFile(in, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
			t.Fatal(err)
		}
		return glossa(t, "run", "--model", model, "--tokenizer", tok, "--temperature", "0", "--max-new-tokens", "30", "--input", in)
	}
	// What "generate" continues each prompt with, alone.
	alone := func(prompt string) string {
		t.Helper()
		code, out, errOut := glossa(t, "generate", "--model", model, "--tokenizer", tok, "--temperature", "0", "--max-new-tokens", "30", prompt)
		if code != 0 {
			t.Fatalf("generate: %s", errOut)
		}
		return strings.TrimPrefix(out, prompt)
	}
	once, lily := alone("Once upon a time"), alone("Lily went")

	// /reset forgets the first turn: the second is the same as alone.
	code, out, errOut := session("Once upon a time", "/reset", "Lily went", "/quit", "ignored after /quit")
	want := "> Once upon a time\n" + once + "> /reset\n> Lily went\n" + lily + "> /quit\n"
	if code != 0 || out != want {
		t.Errorf("exit %d, stderr %q\n got %q\nwant %q", code, errOut, out, want)
	}
	if !strings.Contains(errOut, "reset") {
		t.Errorf("stderr %q does not acknowledge /reset", errOut)
	}

	// Without /reset the second turn continues the conversation, and end of
	// input ends the session.
	code, out, errOut = session("Once upon a time", "Lily went")
	if code != 0 || !strings.HasPrefix(out, "> Once upon a time\n"+once+"> Lily went\n") || strings.HasSuffix(out, lily+"> \n") {
		t.Errorf("kept context: exit %d, stderr %q, stdout %q", code, errOut, out)
	}

	// Many long turns overflow the 512 positions: the oldest are dropped.
	long := strings.Repeat("Once upon a time there was a dog. ", 12)
	code, out, errOut = session(long, long, long, long, long, long)
	if code != 0 || strings.Count(out, "> ") != 7 {
		t.Errorf("long conversation: exit %d, stderr %q, stdout %q", code, errOut, out)
	}

	for _, args := range [][]string{
		{"run"},
		{"run", "--model", model, "--tokenizer", tok, "prompt"},
		{"run", "--model", model, "--tokenizer", tok, "--max-new-tokens", "0"},
		{"run", "--model", model, "--tokenizer", tok, "--top-p", "2"},
		{"run", "--model", model, "--tokenizer", tok, "--input", filepath.Join(dir, "missing")},
		{"run", "--model", model},
	} {
		if code, _, _ := glossa(t, args...); code == 0 {
			t.Errorf("%q: exit 0", args)
		}
	}
}

func FuzzParseIDs(f *testing.F) {
	for _, s := range []string{"1,15,200", " 3 , 4", "", ",", "-1", "99999999999999999999", "1,,2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ids, err := parseIDs(s, 1000)
		if err != nil {
			return
		}
		if len(ids) == 0 {
			t.Fatalf("%q: no ids and no error", s)
		}
		for _, id := range ids {
			if id < 0 || id >= 1000 {
				t.Fatalf("%q: id %d out of range", s, id)
			}
		}
	})
}

// --system needs a chat template.
func TestRunSystemWithoutTemplate(t *testing.T) {
	tokPath := testenv.Shared(t, "models", "stories260K", "tok512.bin")
	if code, _, errOut := glossa(t, "run", "--model", testenv.Shared(t, "models", "stories260K", "stories260K.bin"),
		"--tokenizer", tokPath, "--system", "be kind"); code != 2 || !strings.Contains(errOut, "chat template") {
		t.Errorf("--system without a template: exit %d, %s", code, errOut)
	}
}
