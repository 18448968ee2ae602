package rawsock

// FreeList keeps up to Max values for reuse. It has no lock: one
// goroutine (an event loop) owns it, which is why it is cheaper than a
// sync.Pool, which also drops its values at every collection.
type FreeList[T any] struct {
	free []*T
	Max  int // the most values kept; 0 keeps none
}

// Get returns a kept value, or a new zero one.
func (f *FreeList[T]) Get() *T {
	if n := len(f.free); n > 0 {
		x := f.free[n-1]
		f.free[n-1] = nil
		f.free = f.free[:n-1]
		return x
	}
	return new(T)
}

// Put keeps x for a later Get, unless the list is full; nil is ignored.
// The caller must not use x afterwards.
func (f *FreeList[T]) Put(x *T) {
	if x != nil && len(f.free) < f.Max {
		f.free = append(f.free, x)
	}
}
