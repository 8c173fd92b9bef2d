//go:build !linux

package poller

import "time"

// serverCPU is not measured here: the server's CPU metrics are left out.
func serverCPU() (time.Duration, bool) { return 0, false }
