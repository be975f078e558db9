package bpe

import (
	"strings"
	"unicode/utf8"
)

// GPT-2 writes every byte of the input as one printable Unicode character so
// that vocabulary files hold only visible text: the printable Latin-1 bytes
// ('!'..'~', '¡'..'¬', '®'..'ÿ') stand for themselves and the other 68 bytes
// (controls, space, NBSP, soft hyphen) are shifted up to U+0100..U+0143 in
// byte order. A space is therefore 'Ġ' (U+0120) and a newline 'Ċ' (U+010A).

// byteToRune and runeToByte hold the bijection; they are computed once and
// never written afterwards.
var byteToRune, runeToByte = byteLevelTables()

// byteLevelTables builds the byte ↔ character tables of GPT-2's
// bytes_to_unicode.
func byteLevelTables() (b2r [256]rune, r2b map[rune]byte) {
	printable := func(b int) bool {
		return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)
	}
	r2b = make(map[rune]byte, 256)
	shifted := 0
	for b := 0; b < 256; b++ {
		r := rune(b)
		if !printable(b) {
			r = rune(256 + shifted)
			shifted++
		}
		b2r[b] = r
		r2b[r] = byte(b)
	}
	return b2r, r2b
}

// ByteLevelEncode writes raw bytes in GPT-2's byte-level alphabet, the form
// in which vocabulary files store tokens (" the" becomes "Ġthe").
func ByteLevelEncode(raw string) string {
	var sb strings.Builder
	sb.Grow(2 * len(raw))
	for i := 0; i < len(raw); i++ {
		sb.WriteRune(byteToRune[raw[i]])
	}
	return sb.String()
}

// ByteLevelDecode reverses ByteLevelEncode. ok is false if s holds a
// character outside the byte-level alphabet; such characters are then copied
// through as their UTF-8 bytes.
func ByteLevelDecode(s string) (raw string, ok bool) {
	ok = true
	buf := make([]byte, 0, len(s))
	for _, r := range s {
		if b, found := runeToByte[r]; found {
			buf = append(buf, b)
			continue
		}
		ok = false
		buf = utf8.AppendRune(buf, r)
	}
	return string(buf), ok
}
