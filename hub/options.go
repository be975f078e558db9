package hub

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// DefaultEndpoint is the Hub's address when neither Options.Endpoint nor
// $HF_ENDPOINT names another (a mirror or a private Hub).
const DefaultEndpoint = "https://huggingface.co"

// DefaultRevision is the revision downloaded when none is given.
const DefaultRevision = "main"

// Options configures access to the Hub. The zero value is ready to use and
// reads the environment variables huggingface_hub reads.
type Options struct {
	// Endpoint is the Hub's base URL. Zero: $HF_ENDPOINT, else
	// DefaultEndpoint.
	Endpoint string

	// Token is the user access token sent as "Authorization: Bearer" to the
	// endpoint (never to the CDN hosts downloads redirect to). Zero:
	// $HF_TOKEN (or the legacy $HUGGING_FACE_HUB_TOKEN), else the token file
	// "hf auth login" writes ($HF_TOKEN_PATH, else $HF_HOME/token); none
	// when that is missing too.
	Token string

	// CacheDir is the root of the Hub cache. Zero: DefaultCacheDir().
	CacheDir string

	// HTTPClient sends the requests. Zero: a client with a 30 s dial and
	// response-header timeout and no overall deadline (weights are large).
	// Its CheckRedirect is replaced on a copy, never modified in place.
	HTTPClient *http.Client

	// AllowPatterns selects the files Download fetches: shell patterns in
	// Python's fnmatch dialect ('*' also matches '/'; a pattern ending in
	// '/' matches everything below that folder). Nil: what a Glossa model
	// needs — see DefaultAllowPatterns — and of the safetensors files only
	// those the model uses (the shards named in model.safetensors.index.json,
	// else model.safetensors, else every top-level *.safetensors).
	AllowPatterns []string

	// IgnorePatterns removes files from the selection, in the same dialect.
	// Nil: nothing is removed.
	IgnorePatterns []string

	// MaxRetries bounds the retries of one request or transfer after a
	// transient failure (HTTP 429 or 5xx, a timeout, a dropped connection).
	// Zero: 5. Negative: no retries.
	MaxRetries int

	// RetryWait is the pause before the first retry; it doubles at each
	// further retry up to 16 times its value. Zero: 1 s.
	RetryWait time.Duration

	// Timeout bounds how long one attempt waits for the server's answer, and
	// a download for its next bytes, before it counts as failed (and is
	// retried). Zero: $HF_HUB_DOWNLOAD_TIMEOUT seconds, else 10 s.
	Timeout time.Duration

	// Offline makes no request at all: Download and DownloadFile answer from
	// the cache, failing with ErrNotCached when it lacks the snapshot or the
	// file. False: offline only when $HF_HUB_OFFLINE is "1", "true", "yes"
	// or "on", as in huggingface_hub.
	Offline bool

	// Concurrency is how many files Download fetches at once. Zero: 8, as
	// huggingface_hub's snapshot_download.
	Concurrency int

	// Progress, when not nil, is called as bytes arrive. Calls never
	// overlap, but concurrent downloads make them from several goroutines.
	// It must return quickly.
	Progress func(Progress)
}

// Progress reports the advance of a download.
type Progress struct {
	File      string // path of the file in the repository
	FileBytes int64  // bytes of File present so far (cached or downloaded)
	FileSize  int64  // size of File; -1 when unknown
	Bytes     int64  // bytes present so far over all selected files
	Total     int64  // size of all selected files; -1 when unknown
}

// DefaultAllowPatterns are the files Download selects when
// Options.AllowPatterns is nil: configuration, safetensors weights and
// their index, and the tokenizer files of the formats Glossa reads. PyTorch
// pickles, ONNX, TensorFlow and Flax weights are left out.
var DefaultAllowPatterns = []string{
	"config.json",
	"generation_config.json",
	"*.safetensors",
	"*.safetensors.index.json",
	"tokenizer.json",
	"tokenizer_config.json",
	"special_tokens_map.json",
	"added_tokens.json",
	"vocab.json",
	"vocab.txt",
	"merges.txt",
	"tokenizer.model",
	"sentencepiece.bpe.model",
	"modules.json",
	"sentence_bert_config.json",
	"[0-9]_Pooling/config.json",
}

// DefaultCacheDir returns the Hub cache folder huggingface_hub uses:
// $HF_HUB_CACHE (or the legacy $HUGGINGFACE_HUB_CACHE), else $HF_HOME/hub,
// else $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub.
func DefaultCacheDir() string {
	for _, env := range []string{"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"} {
		if d := os.Getenv(env); d != "" {
			return expandHome(d)
		}
	}
	return filepath.Join(hfHome(), "hub")
}

// hfHome returns $HF_HOME, else $XDG_CACHE_HOME/huggingface, else
// ~/.cache/huggingface.
func hfHome() string {
	if d := os.Getenv("HF_HOME"); d != "" {
		return expandHome(d)
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(expandHome(d), "huggingface")
	}
	return filepath.Join(expandHome("~"), ".cache", "huggingface")
}

// expandHome replaces a leading "~" by the home folder, as Python's
// expanduser does.
func expandHome(p string) string {
	if p != "~" && !strings.HasPrefix(p, "~/") {
		return p
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return p
	}
	return filepath.Join(home, p[1:])
}

// envToken returns the token from the environment or the token file.
func envToken() string {
	for _, env := range []string{"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"} {
		if t := strings.TrimSpace(os.Getenv(env)); t != "" {
			return t
		}
	}
	path := os.Getenv("HF_TOKEN_PATH")
	if path == "" {
		path = filepath.Join(hfHome(), "token")
	}
	b, err := readLimited(expandHome(path), 4<<10)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// readLimited reads a small file, refusing one larger than limit bytes.
func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("hub: %s: larger than %d bytes", path, limit)
	}
	return b, nil
}
