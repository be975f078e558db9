// Package hub downloads models from the Hugging Face Hub into the cache that
// the Python huggingface_hub library shares with transformers, diffusers,
// llama.cpp and others, so a model fetched by any of them is found here
// without a copy, and the other way round.
//
// # Protocol
//
// The package is a client of the Hub's plain HTTP interface:
//
//   - GET {endpoint}/api/models/{repo_id}/revision/{revision}?blobs=true
//     answers JSON with the commit hash ("sha") the revision points to and
//     the files of the repository ("siblings", with sizes and LFS hashes).
//   - HEAD {endpoint}/{repo_id}/resolve/{revision}/{filename} answers the
//     file's commit (X-Repo-Commit), its ETag (X-Linked-Etag for LFS files,
//     else ETag: the git blob SHA-1, or the SHA-256 of an LFS object) and
//     size (X-Linked-Size, else Content-Length). LFS files redirect to a
//     content-addressed CDN URL; the download goes there directly and never
//     carries the Authorization header to another host.
//   - GET of the resolved location downloads the bytes, resuming a partial
//     ".incomplete" file with a Range request.
//
// Requests carry "Authorization: Bearer $HF_TOKEN" when a token is known.
// Transient failures (HTTP 429 and 5xx, timeouts, dropped connections) are
// retried a bounded number of times with exponential backoff; a transfer
// that breaks off resumes where it stopped. Errors from the Hub map onto
// [ErrRepoNotFound], [ErrRevisionNotFound], [ErrEntryNotFound] and
// [ErrAccessDenied] (private or gated repositories).
//
// # Cache layout
//
// The cache is laid out exactly as huggingface_hub lays it out:
//
//	$HF_HUB_CACHE/models--ORG--NAME/
//	├── blobs/<etag>                      file contents, named by ETag
//	├── refs/<revision>                   the commit hash a branch or tag was at
//	└── snapshots/<commit>/<path>         relative symlink to ../../blobs/<etag>
//
// with lock files in $HF_HUB_CACHE/.locks/models--ORG--NAME/<etag>.lock
// (flock, as Python's filelock takes them) so concurrent downloads of one
// blob, from Go or Python, do not collide. A blob is written to
// blobs/<etag>.incomplete, checked against the announced size and, when the
// ETag is a content hash, against that hash (SHA-256 for LFS objects, git
// blob SHA-1 for regular files), and only then renamed into place.
//
// # Use
//
// [Download] fetches what a Glossa model needs (config, safetensors weights,
// tokenizer files) and returns the snapshot folder; [Resolve] finds a
// snapshot in the cache without the network; [DownloadFile] fetches one
// file, like hf_hub_download; [FetchRepoInfo] lists a revision's files.
// [Options] configures endpoint, token, cache folder, file patterns,
// concurrency, timeouts, retries, offline mode and progress reporting; its
// zero value reads the variables huggingface_hub reads: HF_ENDPOINT,
// HF_TOKEN (else the token file of "hf auth login"), HF_HOME, HF_HUB_CACHE,
// HF_HUB_OFFLINE and HF_HUB_DOWNLOAD_TIMEOUT.
//
// Download fetches up to eight files at once; a stalled transfer (no bytes
// for the timeout) is cancelled and resumed like a dropped one. Cancelling
// the context stops the transfers and leaves the partial files to be
// resumed by the next call.
package hub
