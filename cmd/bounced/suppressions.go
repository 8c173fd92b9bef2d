package main

import (
	"context"
	"errors"
)

// Placeholder: replaced when the command lands.
func suppressionsCommand() command {
	return command{
		name:    "suppressions",
		args:    "[--db PATH] [--format csv|json|text] [--since DURATION]",
		summary: "print the suppression list to feed a mailer",
		run: func(ctx context.Context, e *env, args []string) error {
			return errors.New("suppressions: not built yet")
		},
	}
}
