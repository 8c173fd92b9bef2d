//go:build !unix

package main

import "os"

// notifyReload does nothing where there is no SIGHUP: restart to reload.
func notifyReload(ch chan<- os.Signal) {}

func stopReload(ch chan<- os.Signal) {}
