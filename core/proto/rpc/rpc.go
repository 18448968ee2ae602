// Package rpc is the wire format neosocksd instances use to call each
// other over the REST API (api.md §9): the content type of RPC bodies,
// the deflate content coding and the size from which bodies are sent
// compressed, the decoding of a received body, and the fixed messages a
// peer answers with. The API server (core/api) and the RPC client
// (script) both speak through it, so the two sides cannot drift.
//
// It is pure: byte slices and strings only, no net.Conn, no logging.
package rpc

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"fmt"
	"io"

	"github.com/neosocksd-go/neosocksd/core/proto/http"
)

// ContentType is the Content-Type of RPC requests and answers.
const ContentType = "application/x-neosocksd-rpc; version=1"

// MinDeflate is the smallest body sent with Content-Encoding: deflate:
// requests of neosocksd's client, and rpcall answers to a client that
// accepts deflate.
const MinDeflate = 256

// Fixed messages of api.md §1.3 and §9.3.
const (
	// NoRuleset is the 500 answer of /ruleset/* when no ruleset is active.
	NoRuleset = "ruleset is not enabled on the server"
	// NoReturn is the 500 answer of an rpcall whose chunk raised or
	// returned what cannot be marshalled.
	NoReturn = "rpcall did not return"
)

// Errors of Decode.
var (
	ErrCoding   = errors.New("rpc: unsupported content encoding")
	ErrTooLarge = errors.New("rpc: decoded body too large")
)

// IsContentType reports whether a Content-Type value is the RPC type:
// type "application" and subtype "x-neosocksd-rpc" (ASCII
// case-insensitive, spaces and tabs around each trimmed) with a parameter
// "version" whose value is exactly 1.
func IsContentType(v string) bool {
	mt, params, _ := cut(v, ';')
	typ, sub, ok := cut(mt, '/')
	if !ok || !http.EqualFold(http.TrimOWS(typ), "application") ||
		!http.EqualFold(http.TrimOWS(sub), "x-neosocksd-rpc") {
		return false
	}
	for rest, more := params, true; more; {
		var p string
		p, rest, more = cut(rest, ';')
		if k, val, ok := cut(p, '='); ok && http.EqualFold(http.TrimOWS(k), "version") {
			return http.TrimOWS(val) == "1"
		}
	}
	return false
}

// cut slices s around the first c, as strings.Cut.
func cut(s string, c byte) (before, after string, found bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// Deflate compresses b with the deflate content coding (zlib format).
func Deflate(b []byte) []byte {
	var buf bytes.Buffer
	zw := zlib.NewWriter(&buf)
	// Writes to a bytes.Buffer cannot fail.
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
}

// Decode undoes the content coding of a received body: "" or "identity"
// (b itself), "deflate" (zlib) or "gzip", named case-insensitively. A
// body that decodes to more than limit bytes is ErrTooLarge; a coding it
// does not know, ErrCoding; a corrupt body, the decompressor's error.
func Decode(b []byte, coding string, limit int) ([]byte, error) {
	if coding == "" || http.EqualFold(coding, "identity") {
		return b, nil
	}
	zr, err := NewReader(bytes.NewReader(b), coding)
	if err != nil {
		return nil, err
	}
	out, err := io.ReadAll(io.LimitReader(zr, int64(limit)+1))
	if err != nil {
		return nil, fmt.Errorf("rpc: %s body: %w", coding, err)
	}
	if len(out) > limit {
		return nil, ErrTooLarge
	}
	return out, nil
}

// NewReader returns a reader of what r decodes to in a compressing
// content coding, "deflate" (zlib) or "gzip" (named case-insensitively),
// for a receiver that inflates a body as it arrives. Another coding is
// ErrCoding; a stream whose header is corrupt, the decompressor's error.
// Neither decompressor holds anything that needs closing.
func NewReader(r io.Reader, coding string) (io.Reader, error) {
	var zr io.Reader
	var err error
	switch {
	case http.EqualFold(coding, "deflate"):
		zr, err = zlib.NewReader(r)
	case http.EqualFold(coding, "gzip"):
		zr, err = gzip.NewReader(r)
	default:
		return nil, fmt.Errorf("%w: %q", ErrCoding, coding)
	}
	if err != nil {
		return nil, fmt.Errorf("rpc: %s body: %w", coding, err)
	}
	return zr, nil
}
