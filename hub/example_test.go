package hub_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/glossa-ai/glossa/hub"
)

// Resolve finds a model in the cache without the network, whichever
// program downloaded it.
func ExampleCache_Resolve() {
	dir, err := os.MkdirTemp("", "hub-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	// The cache as huggingface_hub leaves it after downloading the main
	// branch of org/model.
	const commit = "0123456789abcdef0123456789abcdef01234567"
	repo := filepath.Join(dir, "models--org--model")
	os.MkdirAll(filepath.Join(repo, "snapshots", commit), 0o755)
	os.MkdirAll(filepath.Join(repo, "refs"), 0o755)
	os.WriteFile(filepath.Join(repo, "refs", "main"), []byte(commit), 0o644)

	cache := hub.Cache{Dir: dir}
	snap, err := cache.Resolve("org/model", "main")
	rel, _ := filepath.Rel(dir, snap)
	fmt.Println(filepath.ToSlash(rel), err)
	_, err = cache.Resolve("org/model", "v2.0")
	fmt.Println(errors.Is(err, hub.ErrNotCached))
	// Output:
	// models--org--model/snapshots/0123456789abcdef0123456789abcdef01234567 <nil>
	// true
}

// Download fetches a model's config, weights and tokenizer into the cache
// ($HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub) and
// returns the snapshot folder to load it from.
func ExampleDownload() {
	dir, err := hub.Download(context.Background(), "openai-community/gpt2", "main", &hub.Options{
		Progress: func(p hub.Progress) { fmt.Fprintf(os.Stderr, "\r%s %d/%d", p.File, p.Bytes, p.Total) },
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(filepath.Join(dir, "config.json"))
}
