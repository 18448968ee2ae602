package splice

import "errors"

// ErrNilConn is returned by Copy and CopyProgress when a connection is nil.
var ErrNilConn = errors.New("splice: nil connection")
