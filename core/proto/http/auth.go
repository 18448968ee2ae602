package http

import "encoding/base64"

// MaxBasicLen bounds the decoded user:password of Basic credentials.
const MaxBasicLen = 511

// ParseBasic decodes a "Basic <base64(user:pass)>" authorization value.
// The scheme word is compared case-sensitively; the decoded text must
// contain a colon (the split is at the first one) and fit MaxBasicLen
// bytes. ok is false for any other scheme or malformed credentials.
func ParseBasic(value string) (user, pass string, ok bool) {
	const prefix = "Basic "
	if len(value) < len(prefix) || value[:len(prefix)] != prefix {
		return "", "", false
	}
	enc := TrimOWS(value[len(prefix):])
	// Decoded in arrays of the call's, so that the credentials cost their
	// two strings and no buffer (an authenticated CONNECT on an event
	// loop allocates little else). The user and the password are strings
	// of their own: a caller that keeps the user name (for its logs, a
	// ruleset's table) then keeps no password. The arrays are cleared
	// before the call returns.
	var src [(MaxBasicLen + 3 + 2) / 3 * 4]byte
	var dec [MaxBasicLen + 3]byte
	if base64.StdEncoding.DecodedLen(len(enc)) > len(dec) || len(enc) > len(src) {
		return "", "", false
	}
	defer clear(dec[:])
	defer clear(src[:])
	n, err := base64.StdEncoding.Decode(dec[:], src[:copy(src[:], enc)])
	if err != nil || n > MaxBasicLen {
		return "", "", false
	}
	i := -1
	for j, c := range dec[:n] {
		if c == ':' {
			i = j
			break
		}
	}
	if i < 0 {
		return "", "", false
	}
	return string(dec[:i]), string(dec[i+1 : n]), true
}

// AppendBasic appends the Basic authorization value for user and pass.
func AppendBasic(dst []byte, user, pass string) []byte {
	dst = append(dst, "Basic "...)
	raw := make([]byte, 0, len(user)+1+len(pass))
	raw = append(append(append(raw, user...), ':'), pass...)
	return base64.StdEncoding.AppendEncode(dst, raw)
}
