package stdlib

import (
	"errors"
	"path/filepath"
	"testing"
)

// TestReadScriptStages checks what ReadScript returns and, on failure,
// which step it names: callers word their messages by the stage.
func TestReadScriptStages(t *testing.T) {
	dir := t.TempDir()
	full := gz(t, "#!x\r\nreturn 1")
	for _, tc := range []struct {
		name  string
		data  []byte
		want  string
		stage ReadStage
		fails bool
	}{
		{name: "plain", data: []byte("return 1"), want: "return 1"},
		{name: "shebang only", data: []byte("#!/bin/neosocksd"), want: ""},
		{name: "bom then shebang", data: []byte("\xEF\xBB\xBF#!a\nb"), want: "\nb"},
		{name: "gzip", data: full, want: "\nreturn 1"},
		{name: "gzip header cut", data: full[:5], stage: StageGunzip, fails: true},
		{name: "gzip truncated", data: full[:len(full)-6], stage: StageGunzip, fails: true},
		{name: "utf16le", data: []byte("\xFF\xFEr\x00"), stage: StageDecode, fails: true},
		{name: "utf32le", data: []byte("\xFF\xFE\x00\x00"), stage: StageDecode, fails: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadScript(writeFile(t, dir, tc.name+".lua", tc.data))
			var se *ScriptError
			switch {
			case !tc.fails && err != nil:
				t.Fatal(err)
			case !tc.fails && string(got) != tc.want:
				t.Fatalf("got %q, want %q", got, tc.want)
			case tc.fails && !errors.As(err, &se):
				t.Fatalf("err = %v (%T), want a *ScriptError", err, err)
			case tc.fails && se.Stage != tc.stage:
				t.Fatalf("stage %d, want %d (%v)", se.Stage, tc.stage, err)
			}
		})
	}
	_, err := ReadScript(filepath.Join(dir, "nope.lua"))
	var se *ScriptError
	if !errors.As(err, &se) || se.Stage != StageOpen || err.Error() != "cannot read "+filepath.Join(dir, "nope.lua")+": No such file or directory" {
		t.Fatalf("missing file: %v", err)
	}
}
