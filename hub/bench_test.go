package hub

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkDownload measures a fresh download of one LFS file over loopback:
// HEAD, redirect, GET, SHA-256 check, fsync and link.
func BenchmarkDownload(b *testing.B) {
	for _, size := range []int{1 << 20, 64 << 20} {
		b.Run(fmt.Sprintf("size=%dMiB", size>>20), func(b *testing.B) {
			f := newFakeHub(b)
			weights := randomBytes(1, size)
			commit := f.commit("org/bench", "main", map[string]fakeFile{"model.safetensors": {data: weights, lfs: true}})
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				opts := testOptions(f, b.TempDir())
				if _, err := DownloadFile(context.Background(), "org/bench", commit, "model.safetensors", opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
