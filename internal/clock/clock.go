// Package clock is the time source of what waits in bounced (the poller's
// schedule and backoff, the webhook dispatcher's retries), so that tests
// run them on a fake time (package clocktest) instead of sleeping.
package clock

import "time"

// Clock tells the time and sets timers.
type Clock interface {
	Now() time.Time
	// Timer returns a channel that receives once after d, and a stop
	// function.
	Timer(d time.Duration) (<-chan time.Time, func() bool)
}

// Real is the system's clock.
var Real Clock = system{}

type system struct{}

func (system) Now() time.Time { return time.Now() }

func (system) Timer(d time.Duration) (<-chan time.Time, func() bool) {
	t := time.NewTimer(d)
	return t.C, t.Stop
}
