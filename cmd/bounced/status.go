package main

import (
	"context"
	"errors"
)

// Placeholder: replaced when the command lands.
func statusCommand() command {
	return command{
		name:    "status",
		args:    "--config FILE",
		summary: "last run per mailbox, next run due, backlog",
		run: func(ctx context.Context, e *env, args []string) error {
			return errors.New("status: not built yet")
		},
	}
}
