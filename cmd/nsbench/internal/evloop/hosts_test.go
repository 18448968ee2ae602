package evloop

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"
)

// TestReadHosts: the -hosts file answers as core/dial's table does (the
// parser's own cases are tested there); a missing file is an error.
func TestReadHosts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hosts")
	const file = "127.0.0.1\tlocalhost loop.test # comment\n::1 localhost ip6-localhost\n10.0.0.1 Upper.Test.\n"
	if err := os.WriteFile(path, []byte(file), 0o644); err != nil {
		t.Fatal(err)
	}
	h, err := readHosts(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		want string // "" : not answered
	}{
		{"loop.test", "127.0.0.1"},
		{"LOOP.test.", "127.0.0.1"},
		{"ip6-localhost", "::1"},
		{"upper.test", "10.0.0.1"},
		{"localhost", ""}, // two addresses: the resolver orders them
		{"nowhere.test", ""},
	} {
		ip, ok := h.lookup(tc.name)
		if tc.want == "" {
			if ok {
				t.Errorf("%s answered %v, want no answer", tc.name, ip)
			}
			continue
		}
		if !ok || ip != netip.MustParseAddr(tc.want) {
			t.Errorf("%s = %v, %v; want %s", tc.name, ip, ok, tc.want)
		}
	}
	if _, err := readHosts(filepath.Join(t.TempDir(), "absent")); err == nil {
		t.Error("a missing file was read")
	}
	if _, ok := (hostsTable{}).lookup("localhost"); ok {
		t.Error("the zero table answered")
	}
}
