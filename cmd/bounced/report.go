package main

import (
	"context"
	"errors"
)

// Placeholder: replaced when the command lands.
func reportCommand() command {
	return command{
		name:    "report",
		args:    "[--db PATH] [--since DURATION] [--format text|json|csv]",
		summary: "totals per kind, reason, domain and day; sender-side alerts; last runs",
		run: func(ctx context.Context, e *env, args []string) error {
			return errors.New("report: not built yet")
		},
	}
}
