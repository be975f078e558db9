package hub

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
)

// maxInfoBytes bounds the JSON answers read from the Hub.
const maxInfoBytes = 32 << 20

// RepoInfo is the Hub's description of one revision of a model repository,
// from GET /api/models/{repo_id}/revision/{revision}.
type RepoInfo struct {
	ID       string    `json:"id"`       // repository id, "owner/name"
	SHA      string    `json:"sha"`      // the commit the revision points at
	Siblings []Sibling `json:"siblings"` // the files of the revision
}

// Sibling is one file of a revision.
type Sibling struct {
	Name   string   `json:"rfilename"`     // path in the repository, '/'-separated
	Size   int64    `json:"size"`          // size in git: of the pointer file for LFS files
	BlobID string   `json:"blobId"`        // git blob SHA-1
	LFS    *LFSInfo `json:"lfs,omitempty"` // nil unless stored with git LFS
}

// LFSInfo describes a file stored with git LFS (weights, mostly).
type LFSInfo struct {
	SHA256      string `json:"sha256"`      // hex SHA-256 of the content
	Size        int64  `json:"size"`        // content size in bytes
	PointerSize int64  `json:"pointerSize"` // size of the pointer file in git
}

// FileSize returns the size of the file's contents, or -1 when the listing
// did not say.
func (s Sibling) FileSize() int64 {
	if s.LFS != nil && s.LFS.Size > 0 {
		return s.LFS.Size
	}
	if s.Size > 0 || s.BlobID != "" {
		return s.Size
	}
	return -1
}

// FetchRepoInfo asks the Hub which commit revision of repoID points at and
// which files it holds ("" means DefaultRevision).
func FetchRepoInfo(ctx context.Context, repoID, revision string, opts *Options) (*RepoInfo, error) {
	c, err := newClient(opts)
	if err != nil {
		return nil, err
	}
	defer c.close()
	if revision == "" {
		revision = DefaultRevision
	}
	if err := ValidateRepoID(repoID); err != nil {
		return nil, err
	}
	if err := validateRevision(revision); err != nil {
		return nil, err
	}
	if c.offline {
		return nil, fmt.Errorf("%w: %s at %s: offline, the Hub cannot be asked", ErrNotCached, repoID, revision)
	}
	return c.repoInfo(ctx, repoID, revision)
}

func (c *client) repoInfo(ctx context.Context, repoID, revision string) (*RepoInfo, error) {
	u := c.endpoint + "/api/models/" + repoID + "/revision/" + url.PathEscape(revision) + "?blobs=true"
	body, err := c.getSmall(ctx, u, ErrRepoNotFound)
	if err != nil {
		return nil, err
	}
	info, err := parseRepoInfo(body)
	if err != nil {
		return nil, withContext(repoID+"@"+revision, err)
	}
	return info, nil
}

// parseRepoInfo decodes and checks a revision answer: the commit must be a
// full hash and every file name a clean relative path.
func parseRepoInfo(data []byte) (*RepoInfo, error) {
	var info RepoInfo
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&info); err != nil {
		return nil, fmt.Errorf("%w: repository info: %v", ErrProtocol, err)
	}
	if !isCommitHash(info.SHA) {
		return nil, fmt.Errorf("%w: repository info: commit %q is not a hash", ErrProtocol, oneLine(info.SHA, 60))
	}
	seen := make(map[string]bool, len(info.Siblings))
	for _, s := range info.Siblings {
		if err := validateFilename(s.Name); err != nil {
			return nil, fmt.Errorf("%w: repository info: %v", ErrProtocol, err)
		}
		if seen[s.Name] {
			return nil, fmt.Errorf("%w: repository info: file %q listed twice", ErrProtocol, s.Name)
		}
		seen[s.Name] = true
		if s.Size < 0 || s.LFS != nil && s.LFS.Size < 0 {
			return nil, fmt.Errorf("%w: repository info: negative size for %q", ErrProtocol, s.Name)
		}
	}
	return &info, nil
}

// safetensorsIndex is the part of model.safetensors.index.json that says
// which shard holds each tensor.
type safetensorsIndex struct {
	WeightMap map[string]string `json:"weight_map"`
}

// parseIndexShards returns the shard files a safetensors index names,
// sorted and without repeats.
func parseIndexShards(data []byte) ([]string, error) {
	var idx safetensorsIndex
	if err := json.Unmarshal(data, &idx); err != nil {
		return nil, fmt.Errorf("hub: safetensors index: %w", err)
	}
	if len(idx.WeightMap) == 0 {
		return nil, fmt.Errorf("hub: safetensors index: empty weight_map")
	}
	set := make(map[string]bool)
	for _, f := range idx.WeightMap {
		if err := validateFilename(f); err != nil {
			return nil, fmt.Errorf("hub: safetensors index: %w", err)
		}
		set[f] = true
	}
	return sortedKeys(set), nil
}
