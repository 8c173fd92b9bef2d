package main

import (
	"context"
	"errors"
)

// Placeholder: replaced when the command lands.
func demoCommand() command {
	return command{
		name:    "demo",
		args:    "[--db PATH]",
		summary: "zero-setup tour: an in-process IMAP server with sample bounces, the real pipeline, a report",
		run: func(ctx context.Context, e *env, args []string) error {
			return errors.New("demo: not built yet")
		},
	}
}
