package addr

import (
	"errors"
	"fmt"
	"strings"
)

// Scheme is an outbound proxy protocol.
type Scheme uint8

// The proxy schemes the dialer speaks.
const (
	HTTP Scheme = iota + 1
	SOCKS4A
	SOCKS5
)

func (s Scheme) String() string {
	switch s {
	case HTTP:
		return "http"
	case SOCKS4A:
		return "socks4a"
	case SOCKS5:
		return "socks5"
	}
	return "invalid"
}

// Proxy is one hop of an outbound proxy chain.
type Proxy struct {
	Scheme   Scheme
	Addr     Addr
	User     string
	Password string
	HasUser  bool // "user@" or "user:pass@" was given
	HasPass  bool // a ':' followed the user name
}

// ErrProxyURI reports a proxy URI that does not parse.
var ErrProxyURI = errors.New("invalid proxy URI")

// maxProxyURI is the longest single proxy URI accepted.
const maxProxyURI = 1023

// ParseProxy parses "scheme://[user[:password]@]host[:port][/ignored]".
// Schemes (case-insensitive) are http (port 80 by default), socks4a and
// socks5 (1080). Userinfo is percent-decoded and may not contain control
// characters.
func ParseProxy(uri string) (Proxy, error) {
	bad := func(why string) (Proxy, error) {
		return Proxy{}, fmt.Errorf("%w %q: %s", ErrProxyURI, uri, why)
	}
	if len(uri) > maxProxyURI {
		return bad("too long")
	}
	i := strings.Index(uri, "://")
	if i < 0 {
		return bad("missing scheme")
	}
	var p Proxy
	defPort := "1080"
	switch Lower(uri[:i]) {
	case "http":
		p.Scheme, defPort = HTTP, "80"
	case "socks4a":
		p.Scheme = SOCKS4A
	case "socks5":
		p.Scheme = SOCKS5
	default:
		return bad("scheme must be socks4a, socks5 or http")
	}
	rest := uri[i+3:]
	if j := strings.IndexByte(rest, '/'); j >= 0 {
		rest = rest[:j]
	}
	if j := strings.LastIndexByte(rest, '@'); j >= 0 {
		info := rest[:j]
		rest = rest[j+1:]
		for k := 0; k < len(info); k++ {
			if !isUserinfoByte(info[k]) {
				return bad("invalid character in userinfo")
			}
		}
		user, pass, hasPass := strings.Cut(info, ":")
		var err error
		if p.User, err = unescape(user); err != nil {
			return bad(err.Error())
		}
		if p.Password, err = unescape(pass); err != nil {
			return bad(err.Error())
		}
		if len(p.User)+len(p.Password) > 510 {
			return bad("credentials too long")
		}
		p.HasUser, p.HasPass = true, hasPass
	}
	if rest == "" {
		return bad("missing host")
	}
	hostport := rest
	if _, _, err := Split(rest); err != nil {
		// No port given: "host" or "[v6]".
		hostport = rest + ":" + defPort
	} else if strings.HasSuffix(rest, ":") {
		hostport = rest + defPort
	}
	a, err := ParseTarget(hostport)
	if err != nil {
		return bad(err.Error())
	}
	if a.Kind() == Domain && a.Name() == "" {
		return bad("missing host")
	}
	p.Addr = a
	return p, nil
}

// ParseProxyList parses a comma-separated chain (first hop first), skipping
// empty items, as the -x option does.
func ParseProxyList(csv string) ([]Proxy, error) {
	var chain []Proxy
	for _, item := range strings.Split(csv, ",") {
		if item == "" {
			continue
		}
		p, err := ParseProxy(item)
		if err != nil {
			return nil, err
		}
		chain = append(chain, p)
	}
	return chain, nil
}

func isUserinfoByte(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("-._:~!$&'()*+,;=%@", c) >= 0
}

func unescape(s string) (string, error) {
	u, err := Unescape(s, false, true)
	switch err {
	case ErrBadEscape:
		return "", errors.New("bad percent escape in userinfo")
	case ErrControl:
		return "", errors.New("control character in userinfo")
	}
	return u, err
}
