// Package clocktest is a fake clock.Clock for tests: it hands every timer
// to the test, which fires it, so nothing sleeps.
package clocktest

import (
	"sync"
	"testing"
	"time"
)

// Fake is a clock whose time moves only when the test moves it.
type Fake struct {
	mu  sync.Mutex
	now time.Time
	// Timers receives every timer set, in order (up to 16 may wait).
	Timers chan Timer
}

// Timer is one timer set on a Fake: its duration, and the channel that
// fires it.
type Timer struct {
	D time.Duration
	C chan time.Time
}

// New returns a Fake at start.
func New(start time.Time) *Fake {
	return &Fake{now: start, Timers: make(chan Timer, 16)}
}

// Now returns the fake time.
func (c *Fake) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Add moves the time forward by d.
func (c *Fake) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// Set moves the time to t, never back.
func (c *Fake) Set(t time.Time) {
	c.mu.Lock()
	if t.After(c.now) {
		c.now = t
	}
	c.mu.Unlock()
}

// Timer hands the timer to the test (Timers, Next) and returns a stop
// function that does nothing.
func (c *Fake) Timer(d time.Duration) (<-chan time.Time, func() bool) {
	t := Timer{D: d, C: make(chan time.Time, 1)}
	c.Timers <- t
	return t.C, func() bool { return true }
}

// Next waits up to within for the next timer set, and fails the test
// when none is.
func (c *Fake) Next(tb testing.TB, within time.Duration) Timer {
	tb.Helper()
	select {
	case t := <-c.Timers:
		return t
	case <-time.After(within):
		tb.Fatalf("no timer was set within %v", within)
		return Timer{}
	}
}

// Fire moves the time forward by t's duration and fires it.
func (c *Fake) Fire(t Timer) {
	c.Add(t.D)
	t.C <- c.Now()
}

// Advance waits up to 30 s for the next timer, fires it and returns its
// duration.
func (c *Fake) Advance(tb testing.TB) time.Duration {
	tb.Helper()
	t := c.Next(tb, 30*time.Second)
	c.Fire(t)
	return t.D
}
