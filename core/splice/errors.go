package splice

import "errors"

// ErrNilConn is returned by Copy, CopyProgress and CopyBursts when a connection is nil.
var ErrNilConn = errors.New("splice: nil connection")
