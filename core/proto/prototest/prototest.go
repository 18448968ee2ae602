// Package prototest checks, for the tests of the codecs and of their
// users, the contract of a client-side reply parser in core/proto: given
// the bytes received so far, it consumes a whole reply and nothing after
// it, or asks for a length the input lacks, so that a client reads exactly
// one reply. It is imported by tests only.
package prototest

import "testing"

// CheckNeed runs parse on b and checks the contract: with the error short,
// n is longer than b, and at that length parse finishes or asks for more
// still; with another error n is 0; on success 0 < n <= len(b). It returns
// parse's error for further checks.
func CheckNeed(t testing.TB, b []byte, short error, parse func([]byte) (int, error)) error {
	t.Helper()
	n, err := parse(b)
	switch {
	case err == short:
		if n <= len(b) {
			t.Fatalf("short with n=%d for %d bytes % x", n, len(b), b)
		}
		longer := append(b[:len(b):len(b)], make([]byte, n-len(b))...)
		if n2, err2 := parse(longer); err2 == short && n2 <= n {
			t.Fatalf("no progress: %d then %d for % x", n, n2, b)
		}
	case err != nil:
		if n != 0 {
			t.Fatalf("n=%d with %v", n, err)
		}
	default:
		if n <= 0 || n > len(b) {
			t.Fatalf("consumed %d of %d", n, len(b))
		}
	}
	return err
}

// StrWithin returns a str function for a codec's ParseRequestWith that
// converts its argument and fails t when the argument is not part of b:
// the strings of a request are cut from the request's own bytes.
func StrWithin(t testing.TB, b []byte) func([]byte) string {
	return func(x []byte) string {
		t.Helper()
		if len(x) > 0 {
			start := cap(b) - cap(x) // x is b[start:...] if it is part of b
			if start < 0 || start+len(x) > len(b) || &b[start] != &x[0] {
				t.Fatalf("str given %q, not part of the input % x", x, b)
			}
		}
		return string(x)
	}
}
