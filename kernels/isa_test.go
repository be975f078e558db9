//go:build amd64 && !purego

package kernels

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// avx512Only matches operands and mnemonics that need AVX-512 (EVEX
// encodings): ZMM and mask registers, the upper sixteen XMM/YMM registers,
// embedded broadcasts and the AVX-512 forms of integer logic and moves.
var avx512Only = regexp.MustCompile(`\b(Z\d+|K[1-7]|[XY](1[6-9]|2\d|3[01]))\b|_BCST|_Z\b|\b(VPXORD|VPXORQ|VPANDD|VPANDQ|VPANDND|VPANDNQ|VPORD|VPORQ|VMOVDQU(8|16|32|64)|VMOVDQA(32|64)|VPTERNLOG[DQ]|VPERM[IT]2\w*|VBROADCASTI(32|64)X\d|VCVTNE\w*|VDPBF16PS|VPDPBUSDS?|VRNDSCALE\w*|VSCALEF\w*|VGETEXP\w*|VFIXUPIMM\w*|VPMOVDB|VPMOVDW|VPMOVQD|VPMOVUSDB|VEXTRACT[FI](32|64)X\d|VINSERT[FI](32|64)X\d)\b`)

// avx2Kernel matches the names of the assembly functions the AVX2 variants
// call (the 256-bit and 16-wide ones); they must run on CPUs without
// AVX-512.
var avx2Kernel = regexp.MustCompile(`(256|x16)$`)

// TestAVX2KernelsUseNoAVX512 reads the generated assembly and fails if a
// function of the AVX2 variants holds an AVX-512 instruction or register,
// which would die with SIGILL on an AVX2-only CPU (and pass every test on
// an AVX-512 one).
func TestAVX2KernelsUseNoAVX512(t *testing.T) {
	files, err := filepath.Glob("*_amd64.s")
	if err != nil || len(files) == 0 {
		t.Fatalf("no assembly files: %v", err)
	}
	checked := 0
	for _, file := range files {
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		name, line := "", 0
		for sc.Scan() {
			line++
			text := sc.Text()
			if rest, ok := strings.CutPrefix(text, "TEXT ·"); ok {
				name, _, _ = strings.Cut(rest, "(")
				if avx2Kernel.MatchString(name) {
					checked++
				}
				continue
			}
			if name == "" || !avx2Kernel.MatchString(name) {
				continue
			}
			code, _, _ := strings.Cut(text, "//")
			if m := avx512Only.FindString(code); m != "" {
				t.Errorf("%s:%d: %s (an AVX2 kernel) uses %s: %s", file, line, name, m, strings.TrimSpace(code))
			}
		}
		f.Close()
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
	}
	if checked < 20 {
		t.Fatalf("found only %d AVX2 kernels in %v; the name pattern no longer matches them", checked, files)
	}
}
