package conformance

import (
	"github.com/neosocksd-go/neosocksd/core/addr"
	"github.com/neosocksd-go/neosocksd/core/route"
)

// CallbackOf infers the callback a client would reach with a: "[v6]:p" is
// route6, "a.b.c.d:p" route, anything else resolve.
func CallbackOf(a string) route.Callback {
	h, _, err := addr.Split(a)
	if err != nil || len(a) == 0 {
		return route.Resolve
	}
	if _, ok := addr.ParseIPv4(h); ok && a[0] != '[' {
		return route.Route
	}
	if a[0] == '[' {
		if _, ok := addr.ParseIPv6(h); ok {
			return route.Route6
		}
	}
	return route.Resolve
}
