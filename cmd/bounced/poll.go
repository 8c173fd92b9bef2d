package main

import (
	"context"
	"errors"
)

// Placeholder: replaced when the command lands.
func pollCommand() command {
	return command{
		name:    "poll",
		args:    "--config FILE [--mailbox NAME] [--dry-run]",
		summary: "one pass over all (or one) mailboxes now, then exit",
		run: func(ctx context.Context, e *env, args []string) error {
			return errors.New("poll: not built yet")
		},
	}
}
