package main

import (
	"bytes"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// diagFixtures are deliberately malformed route tables: the expected
// output of the diagnostics golden test follows their source.
const diagFixtures = "dsl/testdata/diag"

// TestShippedRouteTables runs `nrt check` and `nrt fmt -l` on every .nrt
// in the repository, the diagnostic fixtures excepted: each compiles and
// is formatted as nrt fmt prints it.
func TestShippedRouteTables(t *testing.T) {
	t.Setenv("GW_PASS", "example password") // dsl/testdata/ex2.nrt reads it
	root := filepath.Join("..", "..")
	var files []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		switch {
		case d.IsDir() && (rel == filepath.FromSlash(diagFixtures) || strings.HasPrefix(d.Name(), ".") && rel != "."):
			return filepath.SkipDir
		case !d.IsDir() && strings.HasSuffix(path, ".nrt"):
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 10 {
		t.Fatalf("found only %d route tables under %s", len(files), root)
	}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := run([]string{"check", f}, &out, &errb); code != 0 {
				t.Errorf("nrt check: exit %d\n%s", code, errb.String())
			}
			out.Reset()
			errb.Reset()
			if code := run([]string{"fmt", "-l", f}, &out, &errb); code != 0 || out.Len() != 0 {
				t.Errorf("nrt fmt -l: exit %d, lists %q; run nrt fmt -w on it\n%s", code, out.String(), errb.String())
			}
		})
	}
}

// TestExamplesConform proves each route-table example decides like its Lua
// twin, as the examples' README promises.
func TestExamplesConform(t *testing.T) {
	dir := filepath.Join("..", "neosocksd", "examples")
	for _, name := range []string{"minimal", "full"} {
		t.Run(name, func(t *testing.T) {
			var out, errb bytes.Buffer
			args := []string{"conform", "--dsl", filepath.Join(dir, name+".nrt"), "--lua", filepath.Join(dir, name+".lua"), "-n", "500"}
			if code := run(args, &out, &errb); code != 0 {
				t.Fatalf("exit %d\n%s%s", code, out.String(), errb.String())
			}
		})
	}
}
