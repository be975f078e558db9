package data

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/glossa-ai/glossa/tokenizer"
)

// Encoder turns text into token ids, without special tokens. It must be
// safe for concurrent use.
type Encoder interface {
	// Encode returns the token ids of text.
	Encode(text string) ([]int, error)
}

// EncoderFunc adapts a function to Encoder.
type EncoderFunc func(text string) ([]int, error)

// Encode calls fn(text).
func (fn EncoderFunc) Encode(text string) ([]int, error) { return fn(text) }

// TokenizerEncoder returns an Encoder over tok that tokenises raw text with
// no template, truncation or padding (tok.Tokenize), the ids pretraining
// wants. Special-token text in the corpus ("[MASK]", "<|endoftext|>") is
// matched as tok's options say: set Options.SpecialAsText on tok to keep
// it plain text.
func TokenizerEncoder(tok *tokenizer.Tokenizer) Encoder {
	return EncoderFunc(func(text string) ([]int, error) {
		toks := tok.Tokenize(text)
		ids := make([]int, len(toks))
		for i, t := range toks {
			ids[i] = t.ID
		}
		return ids, nil
	})
}

// TokenizeOptions configure BuildTokenFile. The zero value splits
// documents at blank lines and makes one segment per line, cached under
// the user cache folder.
type TokenizeOptions struct {
	// Docs says how lines group into documents.
	Docs DocMode
	// Sentences splits every line into sentences (SplitSentences), one
	// segment each; otherwise each line is one segment.
	Sentences bool
	// KeepNewlines appends "\n" to every line before encoding, and keeps
	// blank lines (as "\n") with DocFile, so that the token stream
	// reproduces the text layout (character-level language models).
	KeepNewlines bool
	// VocabSize bounds the ids (required).
	VocabSize int
	// TokenizerID identifies the tokenizer in the cache key, typically the
	// bytes of its tokenizer.json. Nil disables the cache: the file is
	// always rebuilt.
	TokenizerID []byte
	// CacheDir holds the packed token files; "" means
	// os.UserCacheDir()/glossa/tokens.
	CacheDir string
	// Workers is the number of encoding goroutines; zero means
	// runtime.GOMAXPROCS(0).
	Workers int
	// Logger, if non-nil, receives progress and cache messages.
	Logger *slog.Logger
}

// TokenizeStats describe a BuildTokenFile call.
type TokenizeStats struct {
	Path     string    // the packed token file
	Cached   bool      // true if an existing file was reused
	Scan     ScanStats // what the corpus scan saw
	Segments int       // segments (lines or sentences) in the file
	Docs     int       // documents in the file
	Tokens   int       // tokens in the file
}

// CacheKey returns the key BuildTokenFile files a corpus under: a hash of
// the corpus fingerprint (file paths, sizes, modification times), the
// tokenizer identity, the splitting options and the format version.
func CacheKey(c *Corpus, opts TokenizeOptions) ([32]byte, error) {
	fp, err := c.Fingerprint()
	if err != nil {
		return [32]byte{}, err
	}
	h := sha256.New()
	h.Write([]byte(tokMagic))
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], tokVersion)
	h.Write(b[:])
	h.Write(fp[:])
	th := sha256.Sum256(opts.TokenizerID)
	h.Write(th[:])
	binary.LittleEndian.PutUint64(b[:], uint64(opts.VocabSize))
	h.Write(b[:])
	fmt.Fprintf(h, "docs=%d sentences=%t newlines=%t maxline=%d skiplong=%t",
		opts.Docs, opts.Sentences, opts.KeepNewlines, c.MaxLineBytes, c.SkipLongLines)
	var out [32]byte
	h.Sum(out[:0])
	return out, nil
}

// BuildTokenFile tokenises the corpus with enc and returns the packed token
// file, reusing a cached one when the corpus, tokenizer and options are
// unchanged. Lines are read in batches and encoded on Workers goroutines;
// the output order is the corpus order. A corpus that yields no tokens is
// an error.
func BuildTokenFile(ctx context.Context, c *Corpus, enc Encoder, opts TokenizeOptions) (*TokenFile, TokenizeStats, error) {
	var st TokenizeStats
	if opts.VocabSize <= 0 {
		return nil, st, errors.New("data: tokenize: VocabSize must be positive")
	}
	dir := opts.CacheDir
	if dir == "" {
		ucd, err := os.UserCacheDir()
		if err != nil {
			return nil, st, fmt.Errorf("data: tokenize: no cache folder: %w", err)
		}
		dir = filepath.Join(ucd, "glossa", "tokens")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, st, fmt.Errorf("data: tokenize: %w", err)
	}
	key, err := CacheKey(c, opts)
	if err != nil {
		return nil, st, err
	}
	st.Path = filepath.Join(dir, hex.EncodeToString(key[:12])+".tok")
	if opts.TokenizerID != nil {
		if f, err := OpenTokenFile(st.Path); err == nil {
			if f.Key() == key && f.VocabSize() == opts.VocabSize {
				st.Cached, st.Segments, st.Docs, st.Tokens = true, f.NumSegments(), f.NumDocs(), f.Len()
				if opts.Logger != nil {
					opts.Logger.Info("data: token cache hit", "path", st.Path, "tokens", f.Len())
				}
				return f, st, nil
			}
			f.Close()
		}
	} else {
		key = [32]byte{}
	}
	w, err := CreateTokenFile(st.Path, opts.VocabSize, key)
	if err != nil {
		return nil, st, err
	}
	st.Scan, err = encodeCorpus(ctx, c, enc, opts, w)
	if err == nil && w.Tokens() == 0 {
		err = fmt.Errorf("data: tokenize: corpus (%d files, %d lines) produced no tokens", st.Scan.Files, st.Scan.Lines)
	}
	if err != nil {
		w.Abort()
		return nil, st, err
	}
	if err := w.Close(); err != nil {
		return nil, st, err
	}
	f, err := OpenTokenFile(st.Path)
	if err != nil {
		return nil, st, err
	}
	st.Segments, st.Docs, st.Tokens = f.NumSegments(), f.NumDocs(), f.Len()
	if opts.Logger != nil {
		opts.Logger.Info("data: tokenized corpus", "path", st.Path, "lines", st.Scan.Lines,
			"skipped_long", st.Scan.SkippedLong, "docs", st.Docs, "tokens", st.Tokens)
	}
	return f, st, nil
}

// pendingSeg is one segment waiting for encoding.
type pendingSeg struct {
	text   string
	newDoc bool
	where  Line // for error messages
	ids    []int
	err    error
}

const encodeBatch = 4096

func encodeCorpus(ctx context.Context, c *Corpus, enc Encoder, opts TokenizeOptions, w *TokenWriter) (ScanStats, error) {
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	batch := make([]pendingSeg, 0, encodeBatch)
	flush := func() error {
		encodeParallel(batch, enc, workers)
		for i := range batch {
			p := &batch[i]
			if p.err != nil {
				return fmt.Errorf("data: tokenize %s:%d: %w", p.where.File, p.where.Num, p.err)
			}
			if err := w.AppendSegment(p.ids, p.newDoc); err != nil {
				return fmt.Errorf("%w (%s:%d)", err, p.where.File, p.where.Num)
			}
		}
		batch = batch[:0]
		return ctx.Err()
	}
	newDoc := true
	lastFile := ""
	scan := func(l Line) error {
		if l.File != lastFile {
			newDoc, lastFile = true, l.File
		}
		blank := isBlank(l.Text)
		switch opts.Docs {
		case DocBlankLine:
			if blank {
				newDoc = true
				return nil
			}
		case DocLine:
			if blank {
				return nil
			}
			newDoc = true
		case DocFile:
			if blank && !opts.KeepNewlines {
				return nil
			}
		}
		segs := []string{l.Text}
		if opts.Sentences && !blank {
			segs = SplitSentences(l.Text)
		}
		for i, s := range segs {
			if opts.KeepNewlines && i == len(segs)-1 {
				s += "\n"
			}
			batch = append(batch, pendingSeg{text: s, newDoc: newDoc, where: l})
			newDoc = false
		}
		if len(batch) >= encodeBatch {
			return flush()
		}
		return nil
	}
	st, err := c.ScanLines(ctx, scan)
	if err != nil {
		return st, err
	}
	return st, flush()
}

// encodeParallel fills ids/err of every segment using workers goroutines
// over interleaved chunks.
func encodeParallel(batch []pendingSeg, enc Encoder, workers int) {
	const chunk = 64
	workers = min(workers, (len(batch)+chunk-1)/chunk)
	if workers <= 1 {
		for i := range batch {
			batch[i].ids, batch[i].err = enc.Encode(batch[i].text)
		}
		return
	}
	var wg sync.WaitGroup
	for wkr := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for lo := wkr * chunk; lo < len(batch); lo += workers * chunk {
				for i := lo; i < min(lo+chunk, len(batch)); i++ {
					batch[i].ids, batch[i].err = enc.Encode(batch[i].text)
				}
			}
		}()
	}
	wg.Wait()
}

func isBlank(s string) bool {
	for _, r := range s {
		if r != ' ' && r != '\t' && r != '\r' && r != '\v' && r != '\f' && r != 0xA0 && r != 0x3000 {
			return false
		}
	}
	return true
}
