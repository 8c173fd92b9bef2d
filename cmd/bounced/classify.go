package main

import (
	"context"
	"errors"
)

// Placeholder: replaced when the command lands.
func classifyCommand() command {
	return command{
		name:    "classify",
		args:    "[--format text|jsonl] PATH...",
		summary: "classify mail files, directories, mboxes or stdin and print verdicts",
		run: func(ctx context.Context, e *env, args []string) error {
			return errors.New("classify: not built yet")
		},
	}
}
