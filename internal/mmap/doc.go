// Package mmap maps checkpoint files read-only into memory (safetensors,
// GGUF): a mapped model costs only the pages it touches, and the kernel can
// drop them again.
package mmap
