package api

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"os"

	"github.com/neosocksd-go/neosocksd/core/proto/http"
)

// API authentication is beyond the original, whose API is open to anyone
// who reaches it. With Server.Token set, every endpoint but /healthy (and
// /metrics with Server.MetricsOpen) needs the token, as
// "Authorization: Bearer <token>" or as the password of Basic credentials
// (any user name), and answers 401 with a challenge for both schemes
// otherwise.

// maxTokenLen bounds a token read from a file so that it is accepted as
// the password of Basic credentials with any user name of up to as many
// bytes: user, colon and password fit http.MaxBasicLen (511), the bound
// the Basic parser shares with the proxy's authentication. A longer token
// (1 024 bytes were allowed before) worked as Bearer but not as a Basic
// password; the fuzz target found it.
const maxTokenLen = (http.MaxBasicLen - 1) / 2

// ErrBadToken is a token file that holds no usable token.
var ErrBadToken = fmt.Errorf("api: the token must be 1 to %d printable ASCII characters without spaces", maxTokenLen)

// ReadToken reads an API token from a file: its content, with leading and
// trailing white space (a final newline) removed, must be printable ASCII
// without spaces, so that it can be sent as a header value unchanged.
func ReadToken(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("api token: %w", err)
	}
	tok := bytes.TrimSpace(data)
	if len(tok) == 0 || len(tok) > maxTokenLen {
		return "", fmt.Errorf("api token %s: %w", path, ErrBadToken)
	}
	for _, c := range tok {
		if c <= ' ' || c >= 0x7f {
			return "", fmt.Errorf("api token %s: %w", path, ErrBadToken)
		}
	}
	return string(tok), nil
}

// needsToken reports whether a request to the endpoint named by the first
// path segment must carry the token.
func (s *Server) needsToken(seg string) bool {
	switch {
	case s.Token == "":
		return false
	case seg == "healthy":
		return false
	case seg == "metrics" && s.MetricsOpen:
		return false
	}
	return true
}

// authorized reports whether the first Authorization header of r carries
// the token. Both sides are hashed before the constant-time comparison,
// so that neither the token's content nor its length shows in the time
// an answer takes.
func (s *Server) authorized(r *request) bool {
	v, ok := r.Get("Authorization")
	if !ok {
		return false
	}
	cred, ok := credential(v)
	if !ok {
		return false
	}
	got := sha256.Sum256([]byte(cred))
	return subtle.ConstantTimeCompare(got[:], s.tokenHash[:]) == 1
}

// credential takes the secret out of an Authorization value: the token of
// the Bearer scheme or the password of the Basic scheme (scheme names are
// case-insensitive, RFC 9110 §11.1).
func credential(v string) (string, bool) {
	i := indexByte(v, ' ')
	if i < 0 {
		return "", false
	}
	scheme, rest := v[:i], http.TrimOWS(v[i+1:])
	switch {
	case http.EqualFold(scheme, "Bearer"):
		return rest, rest != ""
	case http.EqualFold(scheme, "Basic"):
		_, pass, ok := http.ParseBasic("Basic " + rest)
		return pass, ok
	}
	return "", false
}

// challenge is the header of a 401 answer: one challenge per accepted
// scheme, so that both token-aware clients and browsers know what to send.
const challenge = "WWW-Authenticate: Bearer realm=\"neosocksd\"\r\n" +
	"WWW-Authenticate: Basic realm=\"neosocksd\", charset=\"UTF-8\"\r\n"

// errUnauthorized answers 401 with the challenge and closes the
// connection, leaving any body unread.
var errUnauthorized error = &statusError{code: 401, text: true, msg: "authentication required\n", header: challenge}
