package lists

import "testing"

func TestLinesAndClassify(t *testing.T) {
	ls := Lines("# c\n\n  a.example  \r\nfull:b.example\n\tkeyword:x.y\n")
	if len(ls) != 3 || ls[0].Value != "a.example" || ls[0].Line != 3 || ls[0].Col != 3 {
		t.Fatalf("%+v", ls)
	}
	by := Split(ls)
	if len(by[Domain]) != 1 || len(by[Full]) != 1 || by[Keyword][0].Value != "x.y" || by[Keyword][0].Col != 10 {
		t.Errorf("%+v", by)
	}
	if EscapePattern("a.b-c") != "a%.b%-c" {
		t.Error(EscapePattern("a.b-c"))
	}
	h := Hosts("127.0.0.1 localhost lh # c\n::1 ip6\nbad\n")
	if len(h) != 4 || h[1].Name != "lh" || h[2].IP.Value != "::1" || h[3].Name != "" {
		t.Errorf("%+v", h)
	}
}
