//go:build unix

package main

import (
	"os"
	"os/signal"
	"syscall"
)

// notifyReload sends SIGHUP to ch: `bounced run` reloads its config
// (systemd's ExecReload=/bin/kill -HUP $MAINPID).
func notifyReload(ch chan<- os.Signal) { signal.Notify(ch, syscall.SIGHUP) }

func stopReload(ch chan<- os.Signal) { signal.Stop(ch) }
