package dial

import (
	"errors"
	"fmt"
	"sync"

	"github.com/neosocksd-go/neosocksd/core/addr"
	"github.com/neosocksd-go/neosocksd/core/route"
)

// ErrHop is wrapped by the error of a dial whose hops include a proxy URI
// that does not parse: the ruleset named it, the network is not to blame.
var ErrHop = errors.New("invalid proxy")

// maxChains bounds the parsed chains a Dialer keeps. A ruleset names a
// handful of chains; one that makes up a new chain per request must not
// grow the memo without end, so a full memo starts over.
const maxChains = 1024

// chainCache remembers, per hop list, the parsed chain a dial runs: the
// -x chain followed by the hops. Its slices are shared and never written
// after they are stored.
type chainCache struct {
	mu sync.RWMutex
	m  map[route.Chain][]addr.Proxy
}

// chain returns the -x chain followed by hops, parsed. A hop list seen
// before costs one map lookup: a routed request does not parse its hops
// again.
func (d *Dialer) chain(hops route.Chain) ([]addr.Proxy, error) {
	if hops == (route.Chain{}) {
		return d.base, nil
	}
	cc := &d.chains
	cc.mu.RLock()
	c, ok := cc.m[hops]
	cc.mu.RUnlock()
	if ok {
		return c, nil
	}
	list := hops.Hops()
	c = make([]addr.Proxy, 0, len(d.base)+len(list))
	c = append(c, d.base...)
	for _, h := range list {
		p, err := addr.ParseProxy(h)
		if err != nil {
			return nil, &Error{Kind: InvalidAddr, Err: fmt.Errorf("%w %q: %w", ErrHop, h, err)}
		}
		c = append(c, p)
	}
	cc.mu.Lock()
	if cc.m == nil || len(cc.m) >= maxChains {
		cc.m = make(map[route.Chain][]addr.Proxy)
	}
	cc.m[hops] = c
	cc.mu.Unlock()
	return c, nil
}
