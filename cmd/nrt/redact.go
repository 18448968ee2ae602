package main

import (
	"encoding/json"
	"io"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// redacted replaces a secret in everything nrt prints, except the Lua that
// translate writes: that file is a working ruleset and needs the secrets
// (it is written with mode 0600 for that reason).
const redacted = "***"

// uriPassword matches the password of a URI's userinfo ("scheme://user:"
// is kept, the password up to "@" is replaced), whoever wrote the URI: the
// route table, an env() value or a Lua ruleset given to conform.
var uriPassword = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://[^:@/\s"'\x60]*:)[^@/\s"'\x60]*@`)

// secrets is what nrt must not print: the values env() resolved to, as
// written, percent-encoded (as they appear in a URI) and JSON-escaped.
// The checker reports each value through the Getenv hook, so values used
// by a table that fails to compile are known too.
type secrets struct {
	mu   sync.Mutex
	list []string // longest first, so that no secret is cut by a shorter one
}

// minSecret is the shortest env() value treated as a secret: shorter ones
// ("1", "on") are settings rather than credentials, and replacing every
// occurrence of them would garble the output.
const minSecret = 4

func (s *secrets) add(v string) {
	if len(v) < minSecret {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	forms := []string{v, url.PathEscape(v), url.QueryEscape(v)}
	if b, err := json.Marshal(v); err == nil {
		forms = append(forms, string(b[1:len(b)-1]))
	}
	for _, f := range forms {
		if !contains(s.list, f) {
			s.list = append(s.list, f)
		}
	}
	sort.Slice(s.list, func(i, j int) bool { return len(s.list[i]) > len(s.list[j]) })
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// getenv is the checker's environment: os.LookupEnv, remembering what it
// returns as a secret.
func (s *secrets) getenv(name string) (string, bool) {
	v, ok := os.LookupEnv(name)
	if ok {
		s.add(v)
	}
	return v, ok
}

// redact returns text with URI passwords and known secrets replaced.
func (s *secrets) redact(text string) string {
	text = uriPassword.ReplaceAllString(text, "${1}"+redacted+"@")
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range s.list {
		text = strings.ReplaceAll(text, v, redacted)
	}
	return text
}

// redactWriter redacts each Write. nrt writes whole lines or whole
// documents per call, so a secret is never split across two writes.
type redactWriter struct {
	w io.Writer
	s *secrets
}

func (r redactWriter) Write(b []byte) (int, error) {
	if _, err := io.WriteString(r.w, r.s.redact(string(b))); err != nil {
		return 0, err
	}
	return len(b), nil
}
