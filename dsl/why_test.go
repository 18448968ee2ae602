package dsl

import (
	"strings"
	"testing"

	"github.com/neosocksd-go/neosocksd/core/route"
)

// TestExplainPatternRegex checks that Explain names the pattern or regex
// entry that matched and where it was written.
func TestExplainPatternRegex(t *testing.T) {
	src := "redirect_name {\n" +
		"    pattern \"^x%.\", \"^y%.\" => direct\n" +
		"    regex \"^a\\\\.\", \"^b\\\\.\" => direct\n" +
		"}\n"
	p, d := Check("why.nrt", []byte(src), CheckOptions{})
	if p == nil {
		t.Fatal(d)
	}
	tbl, err := Compile(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ addr, want string }{
		{"y.example:80", `MATCH pattern "^y%." (why.nrt:2:21)`},
		{"b.example:80", `MATCH regex "^b\\." (why.nrt:3:20)`},
	} {
		text, _, _, _ := tbl.Explain(route.Resolve, tc.addr, route.Credentials{}, Env{})
		if !strings.Contains(text, tc.want) {
			t.Errorf("Explain(%s):\n%s\nwant a line with %s", tc.addr, text, tc.want)
		}
	}
}
