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
	if base64.StdEncoding.DecodedLen(len(enc)) > MaxBasicLen+3 {
		return "", "", false
	}
	dec, err := base64.StdEncoding.DecodeString(enc)
	if err != nil || len(dec) > MaxBasicLen {
		return "", "", false
	}
	i := -1
	for j, c := range dec {
		if c == ':' {
			i = j
			break
		}
	}
	if i < 0 {
		return "", "", false
	}
	return string(dec[:i]), string(dec[i+1:]), true
}

// AppendBasic appends the Basic authorization value for user and pass.
func AppendBasic(dst []byte, user, pass string) []byte {
	dst = append(dst, "Basic "...)
	raw := make([]byte, 0, len(user)+1+len(pass))
	raw = append(append(append(raw, user...), ':'), pass...)
	return base64.StdEncoding.AppendEncode(dst, raw)
}
