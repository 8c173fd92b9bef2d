package main

import (
	"context"
	"errors"
)

// Placeholder: replaced when the command lands.
func runCommand() command {
	return command{
		name:    "run",
		args:    "--config FILE",
		summary: "the daemon: poll every configured mailbox on its schedule",
		run: func(ctx context.Context, e *env, args []string) error {
			return errors.New("run: not built yet")
		},
	}
}
