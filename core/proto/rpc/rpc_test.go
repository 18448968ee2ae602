package rpc

import (
	"bytes"
	"compress/gzip"
	"errors"
	"strings"
	"testing"
)

// TestSpecTexts pins the strings api.md §1.3 and §9 give.
func TestSpecTexts(t *testing.T) {
	for got, want := range map[string]string{
		ContentType: "application/x-neosocksd-rpc; version=1",
		NoRuleset:   "ruleset is not enabled on the server",
		NoReturn:    "rpcall did not return",
	} {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	if MinDeflate != 256 {
		t.Errorf("MinDeflate %d", MinDeflate)
	}
}

func TestIsContentType(t *testing.T) {
	tests := []struct {
		name, v string
		want    bool
	}{
		{"canonical", ContentType, true},
		{"no space", "application/x-neosocksd-rpc;version=1", true},
		{"case and spaces", "  Application / X-Neosocksd-RPC ;  Version = 1 ", true},
		{"tab", "application/x-neosocksd-rpc;\tversion=1", true},
		{"other parameter first", "application/x-neosocksd-rpc; charset=utf-8; version=1", true},
		{"first version decides", "application/x-neosocksd-rpc; version=2; version=1", false},
		{"version 2", "application/x-neosocksd-rpc; version=2", false},
		{"version 1.0", "application/x-neosocksd-rpc; version=1.0", false},
		{"quoted version", `application/x-neosocksd-rpc; version="1"`, false},
		{"no version", "application/x-neosocksd-rpc", false},
		{"no subtype", "application; version=1", false},
		{"other type", "text/plain; version=1", false},
		{"empty", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := IsContentType(tc.v); got != tc.want {
				t.Errorf("IsContentType(%q) = %v", tc.v, got)
			}
		})
	}
}

func TestDecode(t *testing.T) {
	text := []byte(strings.Repeat("return rpc.echo('ping') ", 40))
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(text)
	zw.Close()
	tests := []struct {
		name, coding string
		in           []byte
		limit        int
		want         []byte
		err          error
	}{
		{"identity", "", text, 10, text, nil},
		{"identity named", "Identity", text, 10, text, nil},
		{"deflate", "deflate", Deflate(text), len(text), text, nil},
		{"deflate upper case", "DEFLATE", Deflate(text), len(text), text, nil},
		{"gzip", "gzip", gz.Bytes(), len(text), text, nil},
		{"over the limit", "deflate", Deflate(text), len(text) - 1, nil, ErrTooLarge},
		{"unknown coding", "br", text, len(text), nil, ErrCoding},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decode(tc.in, tc.coding, tc.limit)
			if !errors.Is(err, tc.err) || !bytes.Equal(got, tc.want) {
				t.Errorf("got %d bytes, %v; want %d, %v", len(got), err, len(tc.want), tc.err)
			}
		})
	}
	if _, err := Decode([]byte("not zlib"), "deflate", 100); err == nil {
		t.Error("corrupt deflate body accepted")
	}
}

// FuzzDecode checks that a deflated body decodes to itself, and that any
// bytes decode within the limit or fail.
func FuzzDecode(f *testing.F) {
	f.Add([]byte("return true"), "deflate")
	f.Add([]byte{0x78, 0x9c, 0x03, 0x00}, "gzip")
	f.Add([]byte(""), "identity")
	f.Fuzz(func(t *testing.T, b []byte, coding string) {
		if got, err := Decode(Deflate(b), "deflate", len(b)); err != nil || !bytes.Equal(got, b) {
			t.Fatalf("round trip: %v", err)
		}
		const limit = 1 << 16
		if got, err := Decode(b, coding, limit); err == nil && len(got) > limit && coding != "" && !strings.EqualFold(coding, "identity") {
			t.Fatalf("decoded %d bytes over the limit", len(got))
		}
	})
}

// FuzzIsContentType checks that a parameter other than version, before
// the version, never changes the answer, which the version alone gives.
func FuzzIsContentType(f *testing.F) {
	f.Add("charset=utf-8")
	f.Add("")
	f.Add("Version")
	f.Fuzz(func(t *testing.T, extra string) {
		if strings.Contains(extra, ";") {
			return
		}
		if k, _, ok := strings.Cut(extra, "="); ok && strings.EqualFold(strings.Trim(k, " \t"), "version") {
			return
		}
		if !IsContentType("application/x-neosocksd-rpc; " + extra + "; version=1") {
			t.Fatalf("version=1 after %q refused", extra)
		}
		if IsContentType("application/x-neosocksd-rpc; " + extra + "; version=2") {
			t.Fatalf("version=2 after %q accepted", extra)
		}
	})
}
