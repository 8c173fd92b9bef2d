package main

import (
	"context"
	"errors"
)

// Placeholder: replaced when the command lands.
func reclassifyCommand() command {
	return command{
		name:    "reclassify",
		args:    "[--db PATH] [--since DURATION]",
		summary: "re-run the classifier over the archived raw mail",
		run: func(ctx context.Context, e *env, args []string) error {
			return errors.New("reclassify: not built yet")
		},
	}
}
